"""The event model: one set of types shared by the agent, the supervisor, the
dashboard and the headless printer.

Every event is a dataclass (treat it as immutable; not frozen only because
frozen classes cost the server process time at every start) with a class-level ``name`` (the ``"event"``
key of its JSON form). ``to_dict``/``event_from_dict`` are the only way events
are turned into and out of JSON: on the agent's socket, in ``--headless --json``
output and in ``debugdash status``.

``event_from_dict`` is the boundary where the app's and the network's strings
enter the supervisor: the codec neutralises every string it builds (see
``codec``), so no face — text, JSON, dashboard, clipboard, audit log — can
forget to.

Standard library only: the agent imports this inside someone else's server.
"""

from __future__ import annotations

import time
from json.encoder import encode_basestring_ascii as _json_string
from typing import Any, ClassVar, Literal

from debugdash.protocol import codec
from debugdash.protocol.records import dataclass, field  # dataclasses.dataclass, cheaper to create
from debugdash.protocol.codec import MULTILINE, EventFormatError  # noqa: F401  (part of the event API)


@dataclass(slots=True, kw_only=True)
class Event:
    name: ClassVar[str] = ""
    #: Wall-clock time the event happened (seconds since the epoch), for display.
    time: float = field(default_factory=time.time)

    # No super() here: slots dataclasses are rebuilt, which breaks zero-argument super.
    def __init_subclass__(cls) -> None:
        if cls.name:
            codec.EVENTS.register(cls)

    def to_dict(self) -> dict[str, Any]:
        return codec.EVENTS.as_dict(self)


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from its ``to_dict`` form; raise EventFormatError if unknown."""
    return codec.EVENTS.from_dict(data)


# --- parts of events -------------------------------------------------------


@dataclass(slots=True)
class Frame:
    filename: str
    lineno: int
    function: str
    #: The source line, stripped; "" when the source is not available.
    source: str = ""
    #: Local variables as safe, truncated reprs.
    locals: dict[str, str] = field(default_factory=dict)
    #: True for the app's own code, False for the standard library and packages.
    is_app: bool = True
    #: For the app's frames and the innermost: the whole statement, its lines as
    #: written (common indentation removed), the first one at ``statement_lineno``.
    statement: list[str] = field(default_factory=list)
    statement_lineno: int = 0
    #: The failing part of ``statement``: [first line, column, last line, end
    #: column], lines counted in ``statement``; empty when it is all of it.
    highlight: list[int] = field(default_factory=list)


@dataclass(slots=True)
class ExceptionInfo:
    type: str  # qualified name, e.g. "KeyError" or "jinja2.exceptions.UndefinedError"
    message: str = field(metadata=MULTILINE)
    frames: list[Frame] = field(default_factory=list)
    #: How this exception relates to the one before it in the chain:
    #: "cause" (raise ... from), "context" (raised while handling), or None.
    relation: Literal["cause", "context"] | None = None
    #: Notes added with ``add_note()`` (PEP 678).
    notes: list[str] = field(default_factory=list)
    #: The exceptions inside an exception group, each with its own frames.
    exceptions: list[ExceptionInfo] = field(default_factory=list)

    @property
    def raised_at(self) -> Frame | None:
        """The innermost frame that belongs to the app, else the innermost frame."""
        for frame in reversed(self.frames):
            if frame.is_app:
                return frame
        return self.frames[-1] if self.frames else None


# --- the events --------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class Started(Event):
    """The supervisor launched the server process."""

    name: ClassVar[str] = "started"
    pid: int
    command: list[str]
    reason: str = "start"  # start | restart | toggle | file-change | crash-recovery
    #: How the process came to be: fresh | spare (a warm spare) | template (forked from a preloaded template).
    via: str = "fresh"


@dataclass(slots=True, kw_only=True)
class Ready(Event):
    """A server process is listening and serving requests."""

    name: ClassVar[str] = "ready"
    url: str
    pid: int
    host: str
    port: int
    debug: bool
    debugger: bool
    #: None when the debugger has no PIN, and in ``--headless --json`` output
    #: (which leaves it out unless ``--json-pin`` asks for it).
    pin: str | None = None
    reloader: bool
    reloader_type: str | None = None


@dataclass(slots=True, kw_only=True)
class Log(Event):
    """One line the server wrote, decoded with replacement and free of control sequences."""

    name: ClassVar[str] = "log"
    stream: Literal["stdout", "stderr"]
    line: str


def log_lines_json(stream: str, lines: list[str], when: float) -> list[str]:
    """The JSON lines of ``Log`` events for ``lines``, newline included, built in bulk.

    Exactly ``json.dumps(Log(...).to_dict())`` per line, at a fraction of the cost:
    a flood of output goes through here a million lines at a time.
    """
    head = f'{{"event":"log","time":{when!r},"stream":{_json_string(stream)},"line":'
    return [f"{head}{_json_string(line)}}}\n" for line in lines]


@dataclass(slots=True, kw_only=True)
class RequestError(Event):
    """An unhandled exception in a request, or while streaming its response."""

    name: ClassVar[str] = "request_error"
    method: str
    path: str
    remote_addr: str
    #: Root cause first, the exception the request actually raised last.
    chain: list[ExceptionInfo]
    streaming: bool = False
    pid: int = 0
    #: Occurrences of this error's group in process ``pid`` so far, this one
    #: included; 0 when the sender does not count (then the event is one
    #: occurrence). A whole capture sent after repeats (``RequestErrorRepeat``)
    #: of the same group carries a count already reported: it adds none.
    count: int = 0
    #: The ``request`` record of the request that raised (its ``id``); 0 when unknown.
    request_id: int = 0
    #: Names this failure for the console (``debugdash eval OCCURRENCE``): "<pid>-<n>".
    occurrence: str = ""

    @property
    def exception(self) -> ExceptionInfo:
        return self.chain[-1]


@dataclass(slots=True, kw_only=True)
class RequestErrorRepeat(Event):
    """Another occurrence of an error group captured whole moments ago: only what changed.

    The agent sends these instead of a whole ``RequestError`` while a group
    repeats faster than it is captured whole (see ``agent/error_groups.py``);
    the group is the one whose ``RequestError`` has this ``type`` raised at
    ``filename``:``lineno``.
    """

    name: ClassVar[str] = "request_error_repeat"
    type: str
    filename: str
    lineno: int
    #: Occurrences of the group in process ``pid`` so far, this one included.
    count: int
    method: str
    path: str
    remote_addr: str
    #: The exception's message when it differs from the group's last whole capture, else "".
    message: str = field(default="", metadata=MULTILINE)
    streaming: bool = False
    pid: int = 0
    #: As ``RequestError``'s: the request that raised, and the console's name for this failure.
    request_id: int = 0
    occurrence: str = ""

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.type, self.filename, self.lineno)


@dataclass(slots=True, kw_only=True)
class LoadError(Event):
    """The app could not be imported or created."""

    name: ClassVar[str] = "load_error"
    message: str = field(metadata=MULTILINE)
    filename: str | None = None
    lineno: int | None = None
    exception: ExceptionInfo | None = None
    pid: int = 0


@dataclass(slots=True, kw_only=True)
class Reload(Event):
    """The reloader saw a file change and is restarting the worker."""

    name: ClassVar[str] = "reload"
    filename: str
    reloader: str
    pid: int = 0


@dataclass(slots=True, kw_only=True)
class Exited(Event):
    """The server process ended."""

    name: ClassVar[str] = "exited"
    pid: int
    returncode: int | None
    #: The last lines of output, to show why it ended.
    last_lines: list[str] = field(default_factory=list)
    expected: bool = False  # True when we stopped it (quit, restart, toggle)
    restarting: bool = False  # True when a new server follows at once (restart, toggle)


@dataclass(slots=True, kw_only=True)
class LaunchFailed(Event):
    """The supervisor could not start the server (e.g. its directory is gone)."""

    name: ClassVar[str] = "launch_failed"
    message: str
    reason: str = "start"  # as Started's: what the launch was for


@dataclass(slots=True, kw_only=True)
class Toggles(Event):
    """The state of every switch, sent whenever one changes."""

    name: ClassVar[str] = "toggles"
    debug: bool
    debugger: bool
    reloader: bool
    attach: bool


@dataclass(slots=True, kw_only=True)
class Gate(Event):
    """The debugger gate inside the server opened or closed (a live change)."""

    name: ClassVar[str] = "gate"
    debugger: bool
    pid: int = 0
    #: The new debugger PIN when this change gave one (grants ended, or asked for).
    pin: str | None = None


@dataclass(slots=True, kw_only=True)
class AccessGranted(Event):
    name: ClassVar[str] = "access_granted"
    address: str  # a network in canonical form, e.g. "203.0.113.7/32"
    what: list[str]  # subset of ["debugger", "attach"]
    seconds: float  # the TTL granted
    extended: bool = False  # True when this re-grant replaced an earlier deadline
    user: str = ""


@dataclass(slots=True, kw_only=True)
class AccessRevoked(Event):
    name: ClassVar[str] = "access_revoked"
    address: str
    what: list[str]
    user: str = ""


@dataclass(slots=True, kw_only=True)
class AccessExpired(Event):
    name: ClassVar[str] = "access_expired"
    address: str
    what: list[str]


@dataclass(slots=True, kw_only=True)
class AccessRefused(Event):
    """A peer without a grant tried to reach a debugger."""

    name: ClassVar[str] = "access_refused"
    address: str
    what: str  # "debugger" or "attach"
    detail: str = ""  # e.g. the request path
    uid: int | None = None  # the peer socket's owner, when a loopback peer was another user
    #: The Host name the request used, when that is why it was refused (not a trusted host).
    host: str = ""

    @property
    def peer(self) -> str:
        """The address, and the Unix user behind it when that is why it was refused."""
        return self.address if self.uid is None else f"{self.address}, uid {self.uid}"


@dataclass(slots=True, kw_only=True)
class AttachListening(Event):
    name: ClassVar[str] = "attach_listening"
    host: str
    port: int
    listening: bool = True  # False when the attach port was closed


@dataclass(slots=True, kw_only=True)
class AttachClient(Event):
    name: ClassVar[str] = "attach_client"
    state: Literal["connected", "disconnected", "refused"]
    peer: str


@dataclass(slots=True, kw_only=True)
class Stats(Event):
    """A sample of the server's process tree."""

    name: ClassVar[str] = "stats"
    pids: list[int]
    cpu_percent: float
    rss: int  # bytes
    threads: int
    ports: list[int] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class Reply(Event):
    """The agent's answer to one ``commands.Query``, matched by ``qid``.

    Each query names its own subclass (with the answer's typed fields); this base
    class alone is the answer of a query that failed (``ok`` false, ``error`` says
    why). Replies go to the one who asked, never onto the event bus.
    """

    name: ClassVar[str] = "reply"
    qid: int = 0
    ok: bool = True
    error: str = ""


@dataclass(slots=True, kw_only=True)
class Pong(Reply):
    name: ClassVar[str] = "pong"
    pid: int = 0


@dataclass(slots=True, kw_only=True)
class Notice(Event):
    """Something the user should know that is not one of the above."""

    name: ClassVar[str] = "notice"
    level: Literal["info", "warning", "error"]
    message: str


@dataclass(slots=True, kw_only=True)
class NewestErrorSent(Reply):
    """The answer to ``commands.SendNewestError``: the group's newest occurrence went out whole
    (a ``RequestError`` ahead of this reply on the same socket), or none was waiting."""

    name: ClassVar[str] = "newest_error_sent"
    #: True when an occurrence was waiting and was sent; False when the newest was sent whole already.
    sent: bool = False
    #: The group's running count in the serving process (0: the group is unknown there).
    count: int = 0
