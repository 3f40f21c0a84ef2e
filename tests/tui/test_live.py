"""What changes outside the dashboard shows up on it: switches flipped from
another terminal, and reloads (with load errors) of a real app file."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from debugdash.core.settings import Settings
from debugdash.tui.widgets.reloads import ReloadList
from debugdash.tui.widgets.status import ToggleBar
from tests.support import free_port
from tests.tui.conftest import arequest, plain, running_dashboard, table_rows, until

APP = '''
    from flask import Flask

    app = Flask(__name__)

    @app.route("/")
    def index():
        return "{greeting}"
'''


async def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "debugdash", *args]
    return await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=60)


async def test_switches_from_another_terminal_show_on_screen(demo_settings):
    port = str(demo_settings.port)
    async with running_dashboard(demo_settings) as (app, pilot, _sup):
        bar = app.query_one(ToggleBar)
        result = await _cli("toggle", "debugger", "off", "--port", port)
        assert result.returncode == 0, result.stderr
        await until(pilot, lambda: "debugger ○ off" in plain(bar), what="the debugger off on screen")

        result = await _cli("allow", "127.0.0.3", "--for", "10m", "--port", port)
        assert result.returncode == 0, result.stderr
        await pilot.press("4")
        table = app.query_one("#access-table")
        await until(pilot, lambda: table.row_count == 1)
        address, _, left = table_rows(table)[0]
        minutes, seconds = map(int, left.split(":"))
        assert address == "127.0.0.3/32" and 9 * 60 < minutes * 60 + seconds <= 10 * 60
        assert "remote access: 1" in plain(bar)

        result = await _cli("revoke", "--all", "--port", port)
        assert result.returncode == 0, result.stderr
        await until(pilot, lambda: table.row_count == 0)


def _save(path: Path, text: str) -> None:
    """Write the file with a modification time the reloader cannot miss.

    The reloader compares nanosecond mtimes, and reloads for a file saved after
    its worker started even before its first look: so "now", and never the time
    it saw before (no sleeping to make the clock move).
    """
    before = path.stat().st_mtime_ns
    new = path.with_name(path.name + ".new")
    new.write_text(text)
    now = max(time.time_ns(), before + 1)
    os.utime(new, ns=(now, now))
    os.replace(new, path)  # as editors save: the reloader sees one change, never half of it
    assert path.stat().st_mtime_ns != before, "this file system keeps mtimes too coarse for the test"


async def test_reloads_show_the_file_the_wait_and_a_load_error_inline(tmp_path):
    source = tmp_path / "shopfront.py"
    source.write_text(textwrap.dedent(APP.format(greeting="hello")))
    settings = Settings.for_tests(app="shopfront", port=free_port(), cwd=tmp_path, python=sys.executable)
    async with running_dashboard(settings) as (app, pilot, _sup):
        await pilot.press("3")
        table = app.query_one(ReloadList)
        _save(source, textwrap.dedent(APP.format(greeting="hello again")))
        await until(pilot, lambda: table.row_count == 1 and table_rows(table)[0][2].endswith("s"), what="a reload, ready")
        assert table_rows(table)[0][1] == "shopfront.py"
        _, body = await arequest(settings.port, "/")
        assert body == "hello again"

        _save(source, "from flask import Flask\napp = Flask(__name__\n")
        banner = app.query_one("#banner")
        await until(pilot, lambda: banner.display and "could not be loaded" in plain(banner))
        await until(pilot, lambda: table.row_count == 2 and "SyntaxError" in table_rows(table)[0][3], what=f"{table_rows(table)} {app.state.load_error}")
        assert "crashed" not in plain(app.query_one("#status"))
