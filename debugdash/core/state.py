"""What the dashboard knows about a session, rebuilt from the event stream.

``SessionState`` is a reducer: feed it every event the supervisor publishes and
it holds the phase, the latest switches and stats, the error groups, the reloads
and the attach state — ready for display. It keeps no Textual objects and takes
no time readings of its own (times come from the events), so it is tested with
plain event lists.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable
from typing import Literal

from debugdash.protocol.events import (
    AttachClient,
    AttachListening,
    Event,
    Exited,
    Gate,
    LaunchFailed,
    LoadError,
    Ready,
    Reload,
    RequestError,
    RequestErrorRepeat,
    Started,
    Stats,
    Toggles,
)
from debugdash.protocol.records import dataclass, field  # dataclasses.dataclass, cheaper to create
from debugdash.protocol.session_events import DebugPaused, ReloadHeld
from debugdash.protocol.observe import CodingAgent
from debugdash.protocol.events import AccessRefused
from debugdash.protocol.request_events import Verified, VerifyOnReload
from debugdash.core.inbox import Inbox

Phase = Literal["starting", "running", "reloading", "crashed", "stopped"]

#: Distinct error groups kept; the least recently seen are dropped beyond this.
MAX_ERROR_GROUPS = 200
#: Running counts remembered, per agent process and error group.
MAX_COUNTED = 4 * MAX_ERROR_GROUPS
#: Reloads kept for display.
MAX_RELOADS = 50


@dataclass(slots=True)
class ErrorGroup:
    """Every request error with the same exception type raised at the same place."""

    key: tuple[str, str, int]  # (exception type, file, line)
    count: int
    first_seen: float  # wall-clock seconds, from the events
    last_seen: float
    #: The newest occurrence captured whole (its frames and locals as they were when it failed).
    latest: RequestError
    #: The newest occurrence's message when it differs from ``latest``'s (a repeat's), else "".
    message: str = ""
    #: The last verify-on-reload of this group (``fixed`` or still failing); None
    #: until one ran, and again when the group fails anew after being fixed.
    verified: Verified | None = None

    @property
    def fixed(self) -> bool:
        """Fixed ✓: a replay after a reload did not raise, and nothing failed here since."""
        return self.verified is not None and self.verified.fixed

    @property
    def type(self) -> str:
        return self.key[0]

    @property
    def location(self) -> str:
        """``file:line`` where the group's exception was raised, or "" when unknown."""
        _, filename, lineno = self.key
        return f"{filename}:{lineno}" if filename else ""


@dataclass(slots=True)
class ReloadRecord:
    """One reload: the file that changed and how it went."""

    time: float
    filename: str
    reloader: str
    #: Seconds from the change to the next ``Ready``; None until it is ready.
    ready_after: float | None = None
    load_error: LoadError | None = None
    #: Which path served it: template (forked), spare (warm spare) or fresh (a new process); "" until known.
    via: str = ""


@dataclass(slots=True)
class AttachState:
    listening: bool = False
    host: str = ""
    port: int | None = None
    client: str | None = None
    client_since: float | None = None  # wall-clock seconds, from the event
    #: Where the attached IDE holds the app stopped, while it does.
    paused: DebugPaused | None = None
    #: The file whose save waits for the IDE to let the app run on.
    reload_pending: str | None = None


@dataclass(slots=True)
class SessionState:
    """The dashboard's picture of the session; change it only through ``apply``."""

    phase: Phase = "starting"
    url: str | None = None
    pid: int | None = None
    #: Wall-clock time the serving process started, for the uptime: the latest
    #: ``Started``, or the ``Ready`` of a worker that the app's own reloader started.
    started_at: float | None = None
    #: The process debugdash started last (a script's reloader parent may serve through a worker).
    started_pid: int | None = None
    host: str | None = None
    port: int | None = None
    pin: str | None = None
    toggles: Toggles | None = None
    #: Whether the debugger gate inside the server is open, from ``Gate``/``Ready``.
    gate_open: bool | None = None
    reloader_type: str | None = None
    stats: Stats | None = None
    load_error: LoadError | None = None
    last_exit: Exited | None = None
    attach: AttachState = field(default_factory=AttachState)
    reloads: deque[ReloadRecord] = field(default_factory=lambda: deque(maxlen=MAX_RELOADS))
    _groups: OrderedDict[tuple[str, str, int], ErrorGroup] = field(default_factory=OrderedDict)
    #: Total request errors seen, including those of dropped groups.
    error_count: int = 0
    #: Coding agents connected through `debugdash mcp` (pid -> client name), and the last tool one called.
    coding_agents: dict[int, str] = field(default_factory=dict)
    coding_agent_call: CodingAgent | None = None
    #: Whether failing GET/HEAD requests from this machine are replayed after a reload.
    verify_on_reload: bool | None = None
    #: Debugger and attach requests that were refused, by address and by Host name.
    inbox: Inbox = field(default_factory=Inbox)
    #: The latest running count of each (agent pid, group), to add only its rise.
    _agent_counts: dict[tuple[int, tuple[str, str, int]], int] = field(default_factory=dict)
    #: Occurrences repeated for a group not (or no longer) held, until its whole capture comes.
    _uncounted: dict[tuple[str, str, int], int] = field(default_factory=dict)

    def apply_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self.apply(event)

    def apply(self, event: Event) -> None:
        """Fold one event into the state; events of kinds it does not track are ignored."""
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    @property
    def error_groups(self) -> list[ErrorGroup]:
        """Error groups, the most recently seen first."""
        return list(reversed(self._groups.values()))

    def error_group(self, key: tuple[str, str, int]) -> ErrorGroup | None:
        return self._groups.get(key)

    def clear_errors(self, key: tuple[str, str, int] | None = None) -> None:
        """Forget one error group (all of them when ``key`` is None): the user has dealt with it."""
        if key is None:
            self._groups.clear()
        else:
            self._groups.pop(key, None)

    @property
    def code_since(self) -> float | None:
        """Wall-clock time the code now served was loaded (the latest reload or start)."""
        times = [t for t in (self.started_at, self.reloads[-1].time if self.reloads else None) if t is not None]
        return max(times) if times else None

    def uptime(self, now: float) -> float | None:
        """Seconds since the server was last started, while it is up."""
        if self.started_at is None or self.phase in ("crashed", "stopped"):
            return None
        return max(0.0, now - self.started_at)

    # --- handlers ---------------------------------------------------------

    def _started(self, event: Started) -> None:
        self.phase = "starting"
        self.attach.paused = None  # a new server's debugger has stopped nothing yet
        self.attach.reload_pending = None
        self.pid = event.pid
        self.started_pid = event.pid
        self.started_at = event.time
        self.url = None
        self.pin = None
        self.stats = None
        self.load_error = None
        if event.reason == "reload" and self.reloads and not self.reloads[-1].via:
            self.reloads[-1].via = event.via

    def _ready(self, event: Ready) -> None:
        self.phase = "running"
        self.url = event.url
        if event.pid != self.started_pid and event.pid != self.pid:
            self.started_at = event.time  # a new worker of the app's own reloader: its uptime
        self.pid = event.pid
        self.host = event.host
        self.port = event.port
        self.pin = event.pin
        self.gate_open = event.debugger
        self.reloader_type = event.reloader_type if event.reloader else None
        if self.reloads and self.reloads[-1].ready_after is None:
            self.reloads[-1].ready_after = max(0.0, event.time - self.reloads[-1].time)

    def _reload(self, event: Reload) -> None:
        self.attach.reload_pending = None
        self.phase = "reloading"
        self.load_error = None
        self.reloads.append(ReloadRecord(time=event.time, filename=event.filename, reloader=event.reloader))

    def _load_error(self, event: LoadError) -> None:
        # The reloader keeps serving (an error page) and watching after a load
        # error, so this is "running" with the error shown next to it until the
        # next reload — not a crash.
        self.load_error = event
        if self.phase == "reloading":
            self.phase = "running"
        if self.reloads and self.reloads[-1].load_error is None:
            self.reloads[-1].load_error = event

    def _exited(self, event: Exited) -> None:
        self.last_exit = event
        if event.restarting:
            self.phase = "starting"
        else:
            self.phase = "stopped" if event.expected else "crashed"
        self.stats = None
        self.attach.client = None
        self.attach.client_since = None
        self.attach.paused = None
        self.attach.reload_pending = None

    def _launch_failed(self, event: LaunchFailed) -> None:
        # Nothing runs: the same as a crash, restarted on the next file change or r.
        self.phase = "crashed"
        self.stats = None

    def _request_error(self, event: RequestError) -> None:
        key = _group_key(event)
        added = self._counted(key, event.pid, event.count)
        group = self._seen(key, added, event.time, event)
        # A whole capture sent after its repeats adds no occurrence, but it is the newest shown in full.
        group.latest = event
        group.message = ""

    def _request_error_repeat(self, event: RequestErrorRepeat) -> None:
        key = event.key
        added = self._counted(key, event.pid, event.count)
        group = self._seen(key, added, event.time, None)
        if group is not None and event.message:
            group.message = event.message

    def _counted(self, key: tuple[str, str, int], pid: int, count: int) -> int:
        """Occurrences an event adds: the rise of its group's running count in its process."""
        if count <= 0:
            return 1  # a sender that does not count: one event, one occurrence
        known = self._agent_counts.pop((pid, key), 0)
        self._agent_counts[(pid, key)] = max(known, count)
        while len(self._agent_counts) > MAX_COUNTED:
            del self._agent_counts[next(iter(self._agent_counts))]
        return max(0, count - known)

    def _seen(self, key: tuple[str, str, int], added: int, when: float, whole: RequestError | None) -> ErrorGroup | None:
        self.error_count += added
        group = self._groups.pop(key, None)
        if group is None:
            if whole is None:
                # A repeat of a group dropped for room (its whole capture follows within moments): count it there.
                self._uncounted[key] = self._uncounted.get(key, 0) + added
                while len(self._uncounted) > MAX_ERROR_GROUPS:
                    del self._uncounted[next(iter(self._uncounted))]
                return None
            group = ErrorGroup(key=key, count=self._uncounted.pop(key, 0), first_seen=when, last_seen=when, latest=whole)
        group.count += added
        group.last_seen = max(group.last_seen, when)
        if added:
            group.verified = None  # it fails again: a fix verified before no longer holds
        self._groups[key] = group
        while len(self._groups) > MAX_ERROR_GROUPS:
            self._groups.popitem(last=False)
        return group

    def _toggles(self, event: Toggles) -> None:
        self.toggles = event

    def _gate(self, event: Gate) -> None:
        self.gate_open = event.debugger
        if event.pin:
            self.pin = event.pin

    def _stats(self, event: Stats) -> None:
        self.stats = event

    def _attach_listening(self, event: AttachListening) -> None:
        self.attach.listening = event.listening
        self.attach.host = event.host
        self.attach.port = event.port if event.listening else None
        if not event.listening:
            self.attach.client = None
            self.attach.client_since = None

    def _attach_client(self, event: AttachClient) -> None:
        if event.state == "connected":
            self.attach.client = event.peer
            self.attach.client_since = event.time
        elif event.state == "disconnected" and self.attach.client == event.peer:
            self.attach.client = None
            self.attach.client_since = None

    def _coding_agent(self, event: CodingAgent) -> None:
        if event.state == "disconnected":
            self.coding_agents.pop(event.pid, None)
            return
        self.coding_agents[event.pid] = event.client
        if event.state == "call":
            self.coding_agent_call = event

    def _verified(self, event: Verified) -> None:
        group = self._groups.get((event.error_type, event.filename, event.lineno))
        if group is not None:
            group.verified = event

    def _verify_on_reload(self, event: VerifyOnReload) -> None:
        self.verify_on_reload = event.on

    def _access_refused(self, event: AccessRefused) -> None:
        self.inbox.apply(event)

    @property
    def open_groups(self) -> list[ErrorGroup]:
        """Error groups not verified fixed, the most recently seen first."""
        return [g for g in self.error_groups if not g.fixed]


    def _debug_paused(self, event: DebugPaused) -> None:
        self.attach.paused = event if event.paused else None

    def _reload_held(self, event: ReloadHeld) -> None:
        self.attach.reload_pending = event.filename


def _group_key(event: RequestError) -> tuple[str, str, int]:
    if not event.chain:
        return ("(unknown exception)", "", 0)
    exception = event.exception
    frame = exception.raised_at
    if frame is None:
        return (exception.type, "", 0)
    return (exception.type, frame.filename, frame.lineno)


_HANDLERS = {
    Started: SessionState._started,
    Ready: SessionState._ready,
    Reload: SessionState._reload,
    LoadError: SessionState._load_error,
    Exited: SessionState._exited,
    LaunchFailed: SessionState._launch_failed,
    RequestError: SessionState._request_error,
    RequestErrorRepeat: SessionState._request_error_repeat,
    Toggles: SessionState._toggles,
    Gate: SessionState._gate,
    Stats: SessionState._stats,
    AttachListening: SessionState._attach_listening,
    AttachClient: SessionState._attach_client,
    CodingAgent: SessionState._coding_agent,
    Verified: SessionState._verified,
    VerifyOnReload: SessionState._verify_on_reload,
    AccessRefused: SessionState._access_refused,
    DebugPaused: SessionState._debug_paused,
    ReloadHeld: SessionState._reload_held,
}
