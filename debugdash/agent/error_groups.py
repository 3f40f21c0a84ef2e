"""Adaptive error reports: whole captures of a group at a bounded rate, small repeats in between.

An app that fails in a loop (a broken health check, a retrying client) must
not cost much more than under plain ``flask run``. Every occurrence is captured
at failure time, so its locals are the values they had — but only as a snapshot
(``capture.chain_snapshot``: code objects, lines and the locals' reprs; ~30 µs
in a busy server, against ~44 µs for the whole ``ExceptionInfo`` chain).
Building the frames, encoding them, the socket and the supervisor's decoding
are what cost (benchmarks/FINDINGS.md, error path), and they are paid only for
the occurrences sent whole. Per group (exception type and the place it was
raised, as the dashboard groups them):

- the first occurrence is sent whole at once;
- a later one is sent whole when the group's last whole report is at least
  ``interval`` old; otherwise it is kept as the group's newest unsent
  occurrence (replacing the one kept before), and a ``RequestErrorRepeat``
  (running count, time, request, the message when it changed) tells of it —
  at once, or, when the group's last repeat is less than ``repeat_interval``
  old, folded into the next one (a failing loop costs one small event per
  group per ``repeat_interval``, not one per request);
- a kept occurrence is sent whole once the group's ``interval`` has passed,
  and a folded repeat once ``repeat_interval`` has (``flush_due``, run by a
  timer thread), so shortly after a burst ends the newest occurrence is shown
  in full and the count is exact.

Counts are exact: every event carries the group's running count in this
process, so the supervisor adds differences, and a dropped event loses none.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from debugdash.protocol.events import Event, RequestError, RequestErrorRepeat
from debugdash.protocol.records import dataclass, field  # dataclasses.dataclass, cheaper to create

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from debugdash.agent.capture import ExceptionSnapshot

#: At most one whole report per group per this many seconds while it repeats.
WHOLE_INTERVAL = 0.25
#: At most one repeat event per group per this many seconds; the ones between are folded in.
REPEAT_INTERVAL = 0.1
#: Groups remembered; the least recently seen are forgotten (and start over as new).
MAX_GROUPS = 256

Key = tuple[str, str, int]


class _Group:
    __slots__ = ("count", "whole_at", "repeat_at", "message", "pending", "pending_count", "folded")

    def __init__(self) -> None:
        self.count = 0
        self.whole_at = float("-inf")
        self.repeat_at = float("-inf")
        self.message = ""
        #: The newest occurrence not yet sent whole, as captured at failure time.
        self.pending: Occurrence | None = None
        #: The group's running count when ``pending`` occurred.
        self.pending_count = 0
        #: True when ``pending`` was not told of by a repeat yet.
        self.folded = False


@dataclass(slots=True)
class Occurrence:
    """One failing request as captured at failure time; its event is built when it is sent."""

    method: str
    path: str
    remote_addr: str
    chain: list[ExceptionSnapshot]
    streaming: bool = False
    pid: int = 0
    time: float = field(default_factory=time.time)
    #: The console's name for this failure, whose frames it keeps ("" when none are kept).
    occurrence: str = ""
    #: The ``request`` record of the request that raised.
    request_id: int = 0

    def key(self) -> Key | None:
        """The dashboard's group (see ``core.state``): the exception's type and where it was raised."""
        if not self.chain:
            return None
        raised_at = self.chain[-1].raised_at()
        return None if raised_at is None else (self.chain[-1].type, *raised_at)

    @property
    def message(self) -> str:
        return self.chain[-1].message if self.chain else ""

    def event(self, count: int = 0) -> RequestError:
        return RequestError(
            time=self.time,
            method=self.method,
            path=self.path,
            remote_addr=self.remote_addr,
            chain=[link.build() for link in self.chain],
            streaming=self.streaming,
            pid=self.pid,
            count=count,
            request_id=self.request_id,
            occurrence=self.occurrence,
        )


class ErrorGroups:
    """Decides, per occurrence, whether it goes out whole or as a repeat; thread-safe."""

    def __init__(
        self,
        emit: Callable[[Event], None],
        *,
        interval: float = WHOLE_INTERVAL,
        repeat_interval: float = REPEAT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        timer: bool = True,
    ) -> None:
        self._emit = emit
        self._interval = interval
        self._repeat_interval = repeat_interval
        self._clock = clock
        self._groups: OrderedDict[Key, _Group] = OrderedDict()
        # Held while emitting too: a kept occurrence sent by the timer must never
        # overtake a newer whole report of its group on the socket.
        self._lock = threading.Condition(threading.Lock())
        self._timer = timer
        self._timer_started = False

    def occurred(self, occurrence: Occurrence) -> None:
        """Report one occurrence; never raises."""
        key = occurrence.key()
        with self._lock:
            if key is None:
                self._emit(occurrence.event())
                return
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Group()
                if len(self._groups) > MAX_GROUPS:
                    self._groups.popitem(last=False)
            else:
                self._groups.move_to_end(key)
            group.count += 1
            now = self._clock()
            if now - group.whole_at >= self._interval:
                group.whole_at, group.message, group.pending, group.folded = now, occurrence.message, None, False
                self._emit(occurrence.event(group.count))
                return
            waiting = group.pending is not None
            group.pending, group.pending_count = occurrence, group.count
            if now - group.repeat_at >= self._repeat_interval:
                group.repeat_at, group.folded = now, False
                self._emit(self._repeat(key, group))
            else:
                group.folded = True
            if not waiting:
                self._wake()

    @staticmethod
    def _repeat(key: Key, group: _Group) -> RequestErrorRepeat:
        occurrence = group.pending
        assert occurrence is not None
        message = occurrence.message
        return RequestErrorRepeat(
            time=occurrence.time,
            type=key[0],
            filename=key[1],
            lineno=key[2],
            count=group.pending_count,
            method=occurrence.method,
            path=occurrence.path,
            remote_addr=occurrence.remote_addr,
            message=message if message != group.message else "",
            streaming=occurrence.streaming,
            request_id=occurrence.request_id,
            occurrence=occurrence.occurrence,
            pid=occurrence.pid,
        )

    def send_newest(self, key: Key) -> tuple[bool, int]:
        """Send the group's kept occurrence whole now; (whether one was kept, the group's count)."""
        with self._lock:
            group = self._groups.get(key)
            if group is None:
                return False, 0
            occurrence = group.pending
            if occurrence is not None:
                group.pending, group.folded = None, False
                group.whole_at, group.message = self._clock(), occurrence.message
                self._emit(occurrence.event(group.pending_count))
            return occurrence is not None, group.count

    def flush_due(self) -> float | None:
        """Send whole every kept occurrence whose group's interval has passed.

        Returns the seconds until the next one is due, or None when none is kept.
        """
        with self._lock:
            return self._flush_due_locked()

    def _flush_due_locked(self) -> float | None:
        now = self._clock()
        wait: float | None = None
        for key, group in self._groups.items():
            occurrence = group.pending
            if occurrence is None:
                continue
            due = group.whole_at + self._interval - now
            if due <= 0:
                group.pending, group.folded = None, False
                group.whole_at, group.message = now, occurrence.message
                self._emit(occurrence.event(group.pending_count))  # its count covers every folded repeat
                continue
            if group.folded:
                repeat_due = group.repeat_at + self._repeat_interval - now
                if repeat_due <= 0:
                    group.repeat_at, group.folded = now, False
                    self._emit(self._repeat(key, group))
                else:
                    due = min(due, repeat_due)
            if wait is None or due < wait:
                wait = due
        return wait

    def _wake(self) -> None:
        # Called with the lock held.
        if not self._timer:
            return
        if not self._timer_started:
            self._timer_started = True
            threading.Thread(target=self._timer_loop, name="debugdash-agent-errors", daemon=True).start()
        self._lock.notify()

    def _timer_loop(self) -> None:
        with self._lock:
            while True:
                wait = self._flush_due_locked()
                self._lock.wait(wait)
