"""The one source of time for everything that expires or measures.

Deadlines are kept on the monotonic clock, so a jump of the wall clock neither
extends nor shortens them. On Linux and macOS the monotonic clock is shared by
every process on the machine, which lets the supervisor and the agent inside the
server compare deadlines directly.

Tests move time forward without sleeping: when ``DEBUGDASH_CLOCK_OFFSET_FILE``
names a file, its content (a float, in seconds) is added to the monotonic clock
on every reading, in the supervisor and in the agent alike.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

Clock = Callable[[], float]

OFFSET_FILE_ENV = "DEBUGDASH_CLOCK_OFFSET_FILE"


def system_clock() -> Clock:
    """Return the clock to use in this process: monotonic, offset in tests."""
    path = os.environ.get(OFFSET_FILE_ENV)
    if not path:
        return time.monotonic
    return _OffsetClock(path)


class _OffsetClock:
    def __init__(self, path: str) -> None:
        self.path = path

    def __call__(self) -> float:
        try:
            with open(self.path) as f:
                offset = float(f.read().strip() or 0)
        except (OSError, ValueError):
            offset = 0.0
        return time.monotonic() + offset


class ManualClock:
    """A clock that only moves when told to; for tests inside one process."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
