"""A launch that fails (the app's directory deleted, then a restart) is a state
change every face agrees on: `debugdash status --json`, `--headless --json` and
the dashboard all say "crashed", none stays at "starting"."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path

import psutil

from debugdash.core.settings import Settings
from debugdash.core.state import SessionState
from debugdash.core.supervisor import Supervisor
from debugdash.protocol.events import event_from_dict
from debugdash.tui.app import DashboardApp
from tests.support import SIMPLE_APP, Session, alive, free_port, run_cli, wait_for, write_app


def test_status_and_headless_output_say_crashed_after_a_failed_launch(tmp_path: Path) -> None:
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    write_app(app_dir, SIMPLE_APP)
    port = free_port()
    session = Session("--app", "app", "--port", str(port), "--no-reload", cwd=app_dir)
    try:
        session.wait_event("ready")
        mark = session.mark()
        shutil.rmtree(app_dir)
        restarted = run_cli("restart", "--port", str(port), cwd=tmp_path)
        assert restarted.returncode == 0, restarted.stderr
        failed = session.wait_event("launch_failed", since=mark)
        assert "could not start the server" in failed["message"]

        status = run_cli("status", "--json", "--port", str(port), cwd=tmp_path)
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["phase"] == "crashed"
        # The dashboard folds the same events: the headless stream, folded, agrees.
        state = SessionState()
        state.apply_all(event_from_dict(e) for e in session.events)
        assert state.phase == "crashed"
    finally:
        session.close()


async def test_the_dashboard_says_crashed_after_a_failed_launch(tmp_path: Path) -> None:
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    write_app(app_dir, SIMPLE_APP)
    settings = Settings.for_tests(app="app", port=free_port(), cwd=app_dir, python=sys.executable, reload=False)
    supervisor = Supervisor(settings)
    app = DashboardApp(supervisor)
    seen: list[psutil.Process] = []
    try:
        async with app.run_test(size=(100, 32)) as pilot:
            await _until(pilot, lambda: "running" in _status_text(app), "the server to be ready")
            seen.extend(psutil.Process().children(recursive=True))
            shutil.rmtree(app_dir)
            await supervisor.restart()
            await _until(pilot, lambda: " crashed " in _status_text(app), "the status line to say crashed")
            assert "starting" not in _status_text(app)
            assert supervisor.status().phase == "crashed"
    finally:
        await supervisor.stop()
        for proc in alive(seen):
            proc.kill()


def _status_text(app: DashboardApp) -> str:
    content = app.query_one("#status").content
    return content.plain if hasattr(content, "plain") else str(content)


async def _until(pilot, predicate, what: str, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)
