"""The one source of time for everything that expires or measures.

Deadlines are kept on the monotonic clock, so a jump of the wall clock neither
extends nor shortens them. On Linux and macOS the monotonic clock is shared by
every process on the machine, which lets the supervisor and the agent inside the
server compare deadlines directly.

Nothing in the environment can move this clock: a file or variable that shifted
time would let anyone who can write it extend a grant. Tests inject a clock
(``Supervisor(clock=...)``, ``DebuggerGate(clock=...)``, ``ManualClock``); the
end-to-end tests replace ``system_clock`` from a ``sitecustomize`` that only
their own processes load (see ``tests/timetravel``), never an installed copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]


def system_clock() -> Clock:
    """Return the clock to use in this process: the monotonic clock."""
    return time.monotonic


class ManualClock:
    """A clock that only moves when told to; for tests inside one process."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
