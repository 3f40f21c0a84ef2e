"""Test-only time travel for the processes the end-to-end tests start.

Python imports ``sitecustomize`` at interpreter start from the first directory
on ``sys.path`` that has one, so this file runs only in processes whose
PYTHONPATH names this folder: the ``debugdash`` supervisor a test starts and,
because the supervisor prepends to the PYTHONPATH it inherits, the agent inside
the Flask server. It never ships (the package holds ``debugdash*`` only), which
is why an installed debugdash has no way to move its clock.

With ``DEBUGDASH_TEST_CLOCK_FILE`` set, ``debugdash.protocol.clock.system_clock`` is
replaced before anything imports it by name, by a clock that adds the float in
that file to the monotonic clock on every reading. Both processes read the same
file, so a test moves the supervisor's and the server's time together.
"""

from __future__ import annotations

import os
import time

CLOCK_FILE_ENV = "DEBUGDASH_TEST_CLOCK_FILE"


def _install(path: str) -> None:
    import debugdash.protocol.clock as clock

    def offset_clock() -> float:
        try:
            with open(path) as f:
                offset = float(f.read())
        except (OSError, ValueError):
            # A file caught mid-rewrite must not send time backwards.
            offset = offset_clock.last
        offset_clock.last = offset
        return time.monotonic() + offset

    offset_clock.last = 0.0
    clock.system_clock = lambda: offset_clock


if os.environ.get(CLOCK_FILE_ENV):
    _install(os.environ[CLOCK_FILE_ENV])
