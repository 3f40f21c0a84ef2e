"""The server's output is drained while the supervisor's event loop is busy:
an app that prints a lot never waits for the dashboard to finish a frame."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from debugdash.core import server_process
from debugdash.core.logbuffer import LogBuffer

# 8 MB of output: eight times what a widened pipe holds.
PRINTS = """
import sys
for i in range(100_000):
    sys.stdout.write(f"line {i:06d} " + "x" * 68 + "\\n")
sys.stdout.flush()
open(sys.argv[1], "w").close()
"""


async def test_an_app_printing_megabytes_finishes_while_the_event_loop_is_busy(tmp_path: Path) -> None:
    logs = LogBuffer(capacity=200_000, max_bytes=64 * 1024 * 1024)
    done = tmp_path / "printed"
    server = await server_process.spawn(
        [sys.executable, "-c", PRINTS, str(done)], dict(os.environ),
        cwd=str(tmp_path), pass_fds=(), with_stdin=False, output=logs.append_block, key=(),
    )
    try:
        # A long frame: the loop runs nothing else meanwhile (no await).
        deadline = time.monotonic() + 30
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert done.exists(), "the app stayed blocked on its full pipe while the loop was busy"
        assert await server_process.exit_code(server) == 0
        lines = logs.since(0)
        assert len(lines) == 100_000
        assert (lines[0].text[:11], lines[-1].text[:11]) == ("line 000000", "line 099999")
    finally:
        if server.running:
            server.proc.kill()
            await server.proc.wait()
        server.stop_pumps()
