"""The server's life cycle on its own: a stand-in server (a tiny Python process,
no Flask) handed to ``Lifecycle`` as callables, the events it publishes checked.
The real-server cases are in tests/e2e/test_supervision.py."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from debugdash.core.lifecycle import Lifecycle
from debugdash.core.settings import Settings
from debugdash.protocol.events import Event, Exited, LaunchFailed, Started
from tests.support import wait_for_async


def _lifecycle(tmp_path: Path, code: str, events: list[Event], output: list[bytes]) -> Lifecycle:
    settings = Settings.for_tests(app="app", cwd=tmp_path)
    return Lifecycle(
        settings,
        command=lambda: [sys.executable, "-c", code],
        spare_key=lambda: (),
        environment=lambda: dict(os.environ),
        owns_socket=lambda: False,
        guard_fd=lambda: None,
        output=lambda stream, block, count: output.extend(block.split(b"\n") if count else []),
        last_lines=lambda: [line.decode() for line in output[-20:]],
        publish=events.append,
        crashed=lambda: True,  # consulted only after a file change, which these tests never make
    )


async def test_a_crash_is_published_with_its_last_lines_and_not_restarted(tmp_path: Path) -> None:
    events: list[Event] = []
    life = _lifecycle(tmp_path, "import sys; print('about to fail', flush=True); sys.exit(4)", events, [])
    try:
        await life.launch("start")
        await wait_for_async(lambda: any(isinstance(e, Exited) for e in events), timeout=30, interval=0.02, what="the exit")
        started, exited = events[0], events[-1]
        assert isinstance(started, Started) and started.reason == "start"
        assert isinstance(exited, Exited)
        assert (exited.returncode, exited.expected, exited.last_lines) == (4, False, ["about to fail"])
        await asyncio.sleep(0.3)  # the crash policy: no second launch without a file change or r
        assert [type(e) for e in events] == [Started, Exited]
    finally:
        life.stopping = True
        await life.stop()


async def test_a_restart_ends_the_running_server_as_expected(tmp_path: Path) -> None:
    events: list[Event] = []
    life = _lifecycle(tmp_path, "import time; time.sleep(60)", events, [])
    try:
        await life.launch("start")
        first = events[0]
        await life.restart("restart")
        exited = next(e for e in events if isinstance(e, Exited))
        assert (exited.pid, exited.expected, exited.restarting) == (first.pid, True, True)
        assert isinstance(events[-1], Started) and events[-1].reason == "restart" and events[-1].pid != first.pid
    finally:
        life.stopping = True
        await life.stop()
    assert life.server is not None and not life.server.running


async def test_a_launch_that_cannot_start_publishes_launch_failed(tmp_path: Path) -> None:
    events: list[Event] = []
    life = _lifecycle(tmp_path / "gone", "pass", events, [])
    try:
        await life.launch("restart")
        failed = next(e for e in events if isinstance(e, LaunchFailed))
        assert failed.reason == "restart" and "could not start the server" in failed.message
        assert not any(isinstance(e, Started) for e in events)
    finally:
        life.stopping = True
        await life.stop()
