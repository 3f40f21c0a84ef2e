"""Every dashboard key, driven with Pilot against a real Supervisor and the
real demo server, with real HTTP requests producing the errors."""

from __future__ import annotations

import asyncio
import stat
import time
from pathlib import Path

from debugdash.protocol.clock import ManualClock
from debugdash.tui.screens.grant import GrantScreen
from debugdash.tui.screens.help import KEYS, HelpScreen
from debugdash.tui.widgets.access import EMPTY_TEXT
from debugdash.tui.widgets.attach import AttachPanel
from debugdash.tui.widgets.errors import ErrorList
from debugdash.tui.widgets.status import ToggleBar
from debugdash.tui.widgets.traceback import TracebackView
from tests.support import alive
from tests.tui.conftest import (
    DIVIDE,
    arequest,
    children,
    demo_line,
    plain,
    running_dashboard,
    table_rows,
    traceback_lines,
    until,
)


async def test_failing_requests_show_as_grouped_errors_with_their_traceback(demo_settings):
    async with running_dashboard(demo_settings) as (app, pilot, _sup):
        for _ in range(2):
            status, _ = await arequest(demo_settings.port, "/divide")
            assert status == 500
        await arequest(demo_settings.port, "/chained")
        table = app.query_one(ErrorList)
        await until(
            pilot,
            lambda: [row[:2] for row in table_rows(table)] == [["1", "RuntimeError"], ["2", "ZeroDivisionError"]],
            what="two error groups, newest first, with their counts",
        )
        rows = table_rows(table)
        assert rows[1][2] == f"demo/app.py:{demo_line(DIVIDE)}"

        await until(pilot, lambda: traceback_lines(app)[0].startswith("GET /chained from 127.0.0.1"))
        lines = traceback_lines(app)
        assert any("ValueError: invalid literal for int()" in line for line in lines)
        assert any("direct cause of the following exception" in line for line in lines)
        assert lines[-1] == "RuntimeError: the configured port is not a number"
        # The highlighted frame is where the app raised, not a Flask frame.
        frame = app.query_one(TracebackView).selected_frame
        assert (Path(frame.filename).name, frame.function) == ("app.py", "chained")

        await pilot.press("down")  # the ZeroDivisionError group
        await until(pilot, lambda: traceback_lines(app)[-1] == "ZeroDivisionError: division by zero")


async def test_enter_on_a_frame_shows_its_locals(demo_settings):
    async with running_dashboard(demo_settings) as (app, pilot, _sup):
        await arequest(demo_settings.port, "/divide?n=7")
        await until(pilot, lambda: app.state.error_count == 1)
        view = app.query_one(TracebackView)
        await until(pilot, lambda: view.selected_frame is not None and view.selected_frame.function == "divide")
        view.focus()
        await pilot.press("enter")
        index = view.highlighted
        prompt = view.get_option_at_index(index).prompt.plain
        assert "numerator = 7" in prompt and "denominator = 0" in prompt
        await pilot.press("enter")
        assert "numerator = 7" not in view.get_option_at_index(index).prompt.plain


async def test_c_copies_the_traceback_as_plain_text(demo_settings):
    async with running_dashboard(demo_settings) as (app, pilot, _sup):
        await arequest(demo_settings.port, "/divide")
        await until(pilot, lambda: app.state.error_count == 1)
        await until(pilot, lambda: app.query_one(TracebackView).has_traceback)
        await pilot.press("c")
        copied = app.clipboard
        assert "Traceback (most recent call last):" in copied
        assert f'app.py", line {demo_line(DIVIDE)}, in divide' in copied
        assert copied.rstrip().endswith("ZeroDivisionError: division by zero")
        assert "\x1b" not in copied


async def test_e_opens_the_highlighted_frame_in_the_editor_at_its_line(demo_settings, tmp_path, monkeypatch):
    record = tmp_path / "editor-args"
    editor = tmp_path / "fake-editor"
    editor.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\n')
    editor.chmod(editor.stat().st_mode | stat.S_IXUSR)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", str(editor))
    async with running_dashboard(demo_settings) as (app, pilot, _sup):
        await arequest(demo_settings.port, "/divide")
        await until(pilot, lambda: app.query_one(TracebackView).selected_frame is not None)
        frame = app.query_one(TracebackView).selected_frame
        await pilot.press("e")
        await until(pilot, record.exists)
        assert record.read_text().split("\n")[:2] == [f"+{frame.lineno}", frame.filename]
        assert frame.filename.endswith("demo/app.py")


async def test_e_without_an_editor_says_how_to_set_one(demo_settings, monkeypatch):
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.delenv("EDITOR", raising=False)
    async with running_dashboard(demo_settings) as (app, pilot, _sup):
        await arequest(demo_settings.port, "/divide")
        await until(pilot, lambda: app.query_one(TracebackView).selected_frame is not None)
        await pilot.press("e")
        await until(pilot, lambda: any("EDITOR" in n.message for n in app._notifications))


async def test_d_switches_the_debugger_live_and_the_bar_shows_it(demo_settings):
    async with running_dashboard(demo_settings) as (app, pilot, sup):
        bar = app.query_one(ToggleBar)
        pid = app.state.pid
        assert "debugger ● on" in plain(bar)
        _, body = await arequest(demo_settings.port, "/divide")
        assert "__debugger__" in body or "Werkzeug Debugger" in body

        await pilot.press("d")
        await until(pilot, lambda: "debugger ○ off" in plain(bar), what="debugger off on screen")
        assert sup.toggles.debugger is False
        status, body = await arequest(demo_settings.port, "/divide")
        assert status == 500 and "Werkzeug Debugger" not in body
        assert app.state.pid == pid  # a live switch: no restart

        await pilot.press("d")
        await until(pilot, lambda: "debugger ● on" in plain(bar))


async def test_l_switches_the_reloader_with_a_restart(demo_settings):
    async with running_dashboard(demo_settings) as (app, pilot, sup):
        bar = app.query_one(ToggleBar)
        first_pid = app.state.pid
        await pilot.press("l")
        await until(pilot, lambda: "reloader ○ off" in plain(bar))
        await until(pilot, lambda: app.state.phase == "running" and app.state.pid != first_pid, what="restarted")
        assert sup.toggles.reloader is False
        assert app.state.reloader_type is None


async def test_r_restarts_the_server(demo_settings):
    async with running_dashboard(demo_settings) as (app, pilot, _sup):
        first, first_pid = children(), app.state.pid
        await pilot.press("r")
        await until(pilot, lambda: app.state.phase == "running" and app.state.pid != first_pid, what="restarted")
        await until(pilot, lambda: not alive(first), what="the old tree to be gone")
        status, _ = await arequest(demo_settings.port, "/ok")
        assert status == 200


async def test_g_grants_with_inline_validation_and_x_revokes(demo_settings):
    async with running_dashboard(demo_settings) as (app, pilot, sup):
        await pilot.press("4")
        assert plain(app.query_one("#access-empty")) == EMPTY_TEXT

        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, GrantScreen))
        error = app.screen.query_one("#grant-error")
        await pilot.press(*"010.0.0.1")
        await until(pilot, lambda: "010.0.0.1" in plain(error), what="inline error for a leading zero")
        assert app.screen.query_one("#grant-ok").disabled
        for _ in range(9):
            await pilot.press("backspace")
        await pilot.press(*"127.0.0.2")
        await until(pilot, lambda: plain(error) == "")
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, GrantScreen), what="the modal to close")

        table = app.query_one("#access-table")
        await until(pilot, lambda: table.row_count == 1)
        address, what, left = table_rows(table)[0]
        assert (address, what) == ("127.0.0.2/32", "debugger")
        minutes, seconds = map(int, left.split(":"))
        assert 14 * 60 < minutes * 60 + seconds <= 15 * 60
        # The grant is real: the granted address now gets the debugger page.
        _, body = await arequest(demo_settings.port, "/divide", source="127.0.0.2")
        assert "Werkzeug Debugger" in body

        # x never revokes what is not on screen: from another tab it shows the list first.
        await pilot.press("1", "x")
        await until(pilot, lambda: app.query_one("#tabs").active == "access")
        assert len(sup.access_entries()) == 1
        await pilot.press("x")
        await until(pilot, lambda: table.row_count == 0 and sup.access_entries() == [])
        assert plain(app.query_one("#access-empty")) == EMPTY_TEXT
        _, body = await arequest(demo_settings.port, "/divide", source="127.0.0.2")
        assert "Werkzeug Debugger" not in body


async def test_wide_networks_need_the_confirmation_box(demo_settings):
    async with running_dashboard(demo_settings) as (app, pilot, sup):
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, GrantScreen))
        screen = app.screen
        await pilot.press(*"10.0.0.0/16")
        box = screen.query_one("#grant-wide")
        await until(pilot, lambda: box.display and screen.query_one("#grant-ok").disabled)
        box.value = True
        await until(pilot, lambda: not screen.query_one("#grant-ok").disabled)
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, GrantScreen))
        assert sup.access_entries() == []


async def test_countdown_ticks_highlights_the_last_minute_and_expiry_notifies(demo_settings):
    clock = ManualClock()
    async with running_dashboard(demo_settings, clock=clock) as (app, pilot, sup):
        await sup.grant("127.0.0.2", ttl="2m")
        await pilot.press("4")
        table = app.query_one("#access-table")
        await until(pilot, lambda: table.row_count == 1 and table_rows(table)[0][2] == "2:00")
        clock.advance(61)
        await until(pilot, lambda: table_rows(table)[0][2] == "0:59", what="the countdown to move")
        left_cell = table.get_row_at(0)[2]
        assert "yellow" in str(left_cell.style)  # the last minute stands out
        clock.advance(59)
        await until(pilot, lambda: table.row_count == 0, what="the entry to go at its deadline")
        await until(pilot, lambda: any("expired" in (n.title or "") for n in app._notifications))
        assert plain(app.query_one("#access-empty")) == EMPTY_TEXT


async def test_a_turns_external_attach_on_with_connection_help_and_c_copies_it(demo_settings):
    async with running_dashboard(demo_settings) as (app, pilot, _sup):
        bar = app.query_one(ToggleBar)
        await pilot.press("a")
        await until(pilot, lambda: "attach ● on" in plain(bar), timeout=30)
        # External debugger mode: the built-in debugger and the reloader go off.
        await until(pilot, lambda: "debugger ○ off" in plain(bar) and "reloader ○ off" in plain(bar), timeout=30)
        await pilot.press("5")
        panel = app.query_one(AttachPanel)
        body = app.query_one("#attach-body")
        await until(pilot, lambda: f":{demo_settings.attach_port}" in plain(body), timeout=30)
        assert "launch.json" in plain(body)
        assert app.focused is panel
        await pilot.press("c")
        port = demo_settings.attach_port
        assert f"-L {port}:127.0.0.1:{port}" in app.clipboard
        assert "debugpy" in app.clipboard and str(demo_settings.cwd) in app.clipboard

        await pilot.press("a")
        await until(pilot, lambda: "attach ○ off" in plain(bar), timeout=30)
        await until(pilot, lambda: "debugger ● on" in plain(bar) and "reloader ● on" in plain(bar), timeout=30)


async def test_question_mark_lists_every_key(demo_settings):
    async with running_dashboard(demo_settings) as (app, pilot, _sup):
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        listed = {key for key, _ in KEYS}
        assert set("rdlagxec?q") <= listed
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen))


async def test_the_command_palette_runs_the_same_actions(demo_settings):
    async with running_dashboard(demo_settings) as (app, pilot, sup):
        bar = app.query_one(ToggleBar)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"toggle the debugger")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(pilot, lambda: "debugger ○ off" in plain(bar), what="the palette to toggle the debugger")
        assert sup.toggles.debugger is False


async def test_q_quits_and_no_process_of_the_server_tree_remains(demo_settings):
    async with running_dashboard(demo_settings) as (app, pilot, _sup):
        tree = children()
        assert len(tree) >= 2  # the reloader and its worker
        await pilot.press("q")
        deadline = time.monotonic() + 2.0
        while alive(tree) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert not alive(tree)
        assert app.return_code == 0


async def test_a_crash_shows_why_and_r_brings_it_back(demo_settings):
    async with running_dashboard(demo_settings) as (app, pilot, _sup):
        for proc in children():
            proc.kill()
        await until(pilot, lambda: app.state.phase == "crashed")
        banner = app.query_one("#banner")
        await until(pilot, lambda: banner.display and "exited" in plain(banner))
        assert "crashed" in plain(app.query_one("#status"))
        await pilot.press("r")
        await until(pilot, lambda: app.state.phase == "running")
        await until(pilot, lambda: not banner.display)
