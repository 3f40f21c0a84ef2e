"""Adaptive error reports: whole captures of a group at a bounded rate, small repeats in between.

An app that fails in a loop (a broken health check, a retrying client) must
not cost much more than under plain ``flask run``. Capturing an occurrence in
this process is cheap (about 10 µs for a Flask stack: it is done for every
occurrence, at failure time, so its locals are the values they had); shipping
it whole — encoding its frames, the socket, the supervisor's decoding — is not.
So per group (exception type and the place it was raised, as the dashboard
groups them):

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

#: At most one whole report per group per this many seconds while it repeats.
WHOLE_INTERVAL = 0.25
#: At most one repeat event per group per this many seconds; the ones between are folded in.
REPEAT_INTERVAL = 0.1
#: Groups remembered; the least recently seen are forgotten (and start over as new).
MAX_GROUPS = 256

Key = tuple[str, str, int]


class _Group:
    __slots__ = ("count", "whole_at", "repeat_at", "message", "pending", "folded")

    def __init__(self) -> None:
        self.count = 0
        self.whole_at = float("-inf")
        self.repeat_at = float("-inf")
        self.message = ""
        #: The newest occurrence not yet sent whole, as captured at failure time.
        self.pending: RequestError | None = None
        #: True when ``pending`` was not told of by a repeat yet.
        self.folded = False


def group_key(event: RequestError) -> Key | None:
    """The dashboard's group of ``event`` (see ``core.state``); None for one never sent as a repeat."""
    if not event.chain:
        return None
    exception = event.exception
    frame = exception.raised_at
    if frame is None:
        return None
    return (exception.type, frame.filename, frame.lineno)


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

    def occurred(self, event: RequestError) -> None:
        """Report one occurrence, captured whole in ``event``; never raises."""
        key = group_key(event)
        with self._lock:
            if key is None:
                self._emit(event)
                return
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Group()
                if len(self._groups) > MAX_GROUPS:
                    self._groups.popitem(last=False)
            else:
                self._groups.move_to_end(key)
            group.count += 1
            event.count = group.count
            now = self._clock()
            message = event.exception.message
            if now - group.whole_at >= self._interval:
                group.whole_at, group.message, group.pending, group.folded = now, message, None, False
                self._emit(event)
                return
            waiting = group.pending is not None
            group.pending = event
            if now - group.repeat_at >= self._repeat_interval:
                group.repeat_at, group.folded = now, False
                self._emit(self._repeat(key, group, event))
            else:
                group.folded = True
            if not waiting:
                self._wake()

    @staticmethod
    def _repeat(key: Key, group: _Group, event: RequestError) -> RequestErrorRepeat:
        message = event.exception.message
        return RequestErrorRepeat(
            time=event.time,
            type=key[0],
            filename=key[1],
            lineno=key[2],
            count=event.count,
            method=event.method,
            path=event.path,
            remote_addr=event.remote_addr,
            message=message if message != group.message else "",
            streaming=event.streaming,
            pid=event.pid,
        )

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
            event = group.pending
            if event is None:
                continue
            due = group.whole_at + self._interval - now
            if due <= 0:
                group.pending, group.folded = None, False
                group.whole_at, group.message = now, event.exception.message
                self._emit(event)  # its count covers every folded repeat
                continue
            if group.folded:
                repeat_due = group.repeat_at + self._repeat_interval - now
                if repeat_due <= 0:
                    group.repeat_at, group.folded = now, False
                    self._emit(self._repeat(key, group, event))
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
