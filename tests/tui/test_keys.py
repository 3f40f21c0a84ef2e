"""Every dashboard key, driven with Pilot against a real Supervisor and the
real demo server, with real HTTP requests producing the errors."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

from debugdash.protocol.clock import ManualClock
from debugdash.tui.screens.grant import GrantScreen
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
    rows_on_screen,
    running_dashboard,
    screen_lines,
    screen_text,
    shown_pid,
    table_rows,
    toasts,
    traceback_lines,
    until,
)
from tests.tui.scenes import make_app, publish, ready, started


async def test_failing_requests_show_as_grouped_errors_with_their_traceback(demo_settings):
    async with running_dashboard(demo_settings) as (app, pilot, _sup):
        for _ in range(2):
            status, _ = await arequest(demo_settings.port, "/divide")
            assert status == 500
        await arequest(demo_settings.port, "/chained")
        table = app.query_one(ErrorList)
        await until(
            pilot,
            lambda: [[row[0], row[1].split()[0]] for row in table_rows(table)] == [["1", "RuntimeError"], ["2", "ZeroDivisionError"]],
            what=lambda: f"two error groups, newest first, with their counts; shown: {table_rows(table)}",
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
        await until(
            pilot,
            lambda: traceback_lines(app)[-1] == "ZeroDivisionError: division by zero",
            what=lambda: f"the ZeroDivisionError traceback; focus on {app.focused!r}, row {table.cursor_row} of {table_rows(table)}, traceback ends {traceback_lines(app)[-1:]}",
        )


async def test_enter_on_a_frame_shows_its_locals(demo_settings):
    async with running_dashboard(demo_settings) as (app, pilot, _sup):
        await arequest(demo_settings.port, "/divide?n=7")
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
        await until(pilot, lambda: traceback_lines(app)[-1] == "ZeroDivisionError: division by zero")
        await pilot.press("c")
        await until(pilot, lambda: any("Traceback copied" in toast for toast in toasts(app)))
        copied = app.clipboard
        assert "Traceback (most recent call last):" in copied
        assert f'app.py", line {demo_line(DIVIDE)}, in divide' in copied
        assert copied.rstrip().endswith("ZeroDivisionError: division by zero")
        assert "\x1b" not in copied


async def test_e_opens_the_highlighted_frame_in_the_editor_at_its_line(demo_settings, editor_record):
    record = editor_record
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
        await until(pilot, lambda: any("Set $EDITOR" in toast for toast in toasts(app)), what="a toast naming $EDITOR")


async def test_d_switches_the_debugger_live_and_the_bar_shows_it(demo_settings):
    async with running_dashboard(demo_settings) as (app, pilot, sup):
        bar = app.query_one(ToggleBar)
        pid = shown_pid(app)
        assert "debugger ● on" in plain(bar)
        _, body = await arequest(demo_settings.port, "/divide")
        assert "__debugger__" in body or "Werkzeug Debugger" in body

        await pilot.press("d")
        await until(pilot, lambda: "debugger ○ off" in plain(bar), what="debugger off on screen")
        assert sup.toggles.debugger is False
        status, body = await arequest(demo_settings.port, "/divide")
        assert status == 500 and "Werkzeug Debugger" not in body
        assert shown_pid(app) == pid  # a live switch: no restart

        await pilot.press("d")
        await until(pilot, lambda: "debugger ● on" in plain(bar))


async def test_l_switches_the_reloader_with_a_restart(demo_settings):
    async with running_dashboard(demo_settings) as (app, pilot, _sup):
        bar = app.query_one(ToggleBar)
        await until(pilot, lambda: "reloader ● on (stat)" in plain(bar))
        first_pid = shown_pid(app)
        await pilot.press("l")
        await until(pilot, lambda: "reloader ○ off" in plain(bar) and "(stat)" not in plain(bar))
        await until(pilot, lambda: "running" in plain(app.query_one("#status")) and shown_pid(app) not in (None, first_pid), what="restarted")
        status, _ = await arequest(demo_settings.port, "/ok")
        assert status == 200

        await pilot.press("l")
        await until(pilot, lambda: "reloader ● on (stat)" in plain(bar), what="the reloader back on")


async def test_r_restarts_the_server(demo_settings):
    async with running_dashboard(demo_settings) as (app, pilot, _sup):
        first, first_pid = children(), shown_pid(app)
        await pilot.press("r")
        await until(pilot, lambda: "running" in plain(app.query_one("#status")) and shown_pid(app) not in (None, first_pid), what="restarted")
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
        await pilot.press(*"10.0.0.0/16")
        await until(pilot, lambda: "tick the box to confirm" in screen_text(app))
        await pilot.press("enter")  # refused while the box is not ticked
        await pilot.pause()
        assert isinstance(app.screen, GrantScreen) and "tick the box to confirm" in screen_text(app)
        await pilot.press("tab", "tab", "tab", "space")  # duration, what, the box
        await until(pilot, lambda: "tick the box" not in screen_text(app), what="the error gone once the box is ticked")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, GrantScreen))
        await pilot.press("4")
        await until(pilot, lambda: EMPTY_TEXT in screen_text(app))
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
        await until(pilot, lambda: any("Remote access expired 127.0.0.2/32" in toast for toast in toasts(app)), what="the expiry toast")
        assert plain(app.query_one("#access-empty")) == EMPTY_TEXT


async def test_a_turns_external_attach_on_with_connection_help_and_c_copies_it(demo_settings):
    async with running_dashboard(demo_settings) as (app, pilot, _sup):
        bar = app.query_one(ToggleBar)
        await pilot.press("a")
        await until(pilot, lambda: "attach ● on" in plain(bar), timeout=60, what=lambda: f"attach on: bar {plain(bar)!r}, toasts {toasts(app)}")
        # External debugger mode: the built-in debugger goes off; the reloader stays
        # on (the IDE stays attached across reloads).
        await until(pilot, lambda: "debugger ○ off" in plain(bar) and "reloader ● on" in plain(bar), timeout=30)
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


#: The README's key table: each key and a word of what it does, as the help must show it.
README_KEYS = [
    ("r", "restart"),
    ("d", "debugger"),
    ("l", "reloader"),
    ("a", "external attach"),
    ("g", "grant"),
    ("x", "revoke"),
    ("e", "$EDITOR"),
    ("c", "copy"),
    ("R", "replay"),
    ("C", "curl"),
    ("v", "verify"),
    ("?", "help"),
    ("q", "quit"),
    ("ctrl+p", "command palette"),
]


async def test_question_mark_shows_every_key_the_readme_lists():
    app, _supervisor, _clock = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await publish(pilot, [*started(), ready()])
        assert "debugdash keys" not in screen_text(app)
        await pilot.press("question_mark")
        await until(pilot, lambda: "debugdash keys" in screen_text(app), what="the help on screen")
        lines = screen_lines(app)
        for key, does in README_KEYS:
            row = re.compile(rf"[█│ ]{re.escape(key)} +.*{re.escape(does)}")
            assert any(row.search(line) for line in lines), f"{key} ({does}) is not on the help screen:\n" + "\n".join(lines)
        await pilot.press("escape")
        await until(pilot, lambda: "debugdash keys" not in screen_text(app))


async def test_x_revokes_only_the_highlighted_grant(demo_settings):
    async with running_dashboard(demo_settings) as (app, pilot, sup):
        for address, ttl in (("127.0.0.2", "10m"), ("127.0.0.3", "20m"), ("127.0.0.4", "30m")):
            await sup.grant(address, ttl=ttl)
        await pilot.press("4")
        table = app.query_one("#access-table")
        # Soonest to expire first.
        await until(pilot, lambda: [row.split()[0] for row in rows_on_screen(table)[1:4]] == ["127.0.0.2/32", "127.0.0.3/32", "127.0.0.4/32"])
        await pilot.press("down")  # the user picks the middle one
        await pilot.press("x")
        await until(pilot, lambda: any("Revoked 127.0.0.3/32." in toast for toast in toasts(app)), what=lambda: f"the revoke toast: {toasts(app)}")
        await until(pilot, lambda: [row.split()[0] for row in rows_on_screen(table)[1:] if row.strip()] == ["127.0.0.2/32", "127.0.0.4/32"])
        # The others still reach the debugger; the revoked one no longer does.
        for source, reaches in (("127.0.0.2", True), ("127.0.0.3", False), ("127.0.0.4", True)):
            _, body = await arequest(demo_settings.port, "/divide", source=source)
            assert ("Werkzeug Debugger" in body) is reaches, source


async def test_the_grant_modal_is_filled_in_with_keys_alone():
    """Address, duration, what (radio) and the wide-network box: Tab, arrows and space only."""
    app, supervisor, clock = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await publish(pilot, [*started(), ready()])
        await pilot.press("g")
        await until(pilot, lambda: "Grant remote access" in screen_text(app))
        await pilot.press(*"10.20.0.0/16", "tab")
        await pilot.press("backspace", "backspace", "backspace", *"1h30m", "tab")
        await pilot.press("down", "down", "enter")  # debugger -> attach -> both
        await pilot.press("tab", "space")  # "Yes, grant this whole network"
        await until(pilot, lambda: "tick the box" not in screen_text(app) and "Yes, grant" in screen_text(app))
        await pilot.press("tab", "enter")  # the Grant button
        await until(pilot, lambda: not isinstance(app.screen, GrantScreen), what="the modal to close")

        # The dashboard shows the grant that was chosen, on the Access tab.
        table = app.query_one("#access-table")
        await until(pilot, lambda: table.row_count == 1)
        assert rows_on_screen(table)[1].split() == ["10.20.0.0/16", "debugger,", "attach", "1:30:00"]
        (entry,) = supervisor.access_entries()
        assert (entry.network, entry.what, entry.remaining(clock())) == ("10.20.0.0/16", ("debugger", "attach"), 5400.0)


async def test_q_quits_and_no_process_of_the_server_tree_remains(demo_settings):
    async with running_dashboard(demo_settings) as (app, pilot, _sup):
        tree = children()
        assert len(tree) >= 2  # the reloader and its worker
        await pilot.press("q")
        deadline = time.monotonic() + 30
        while alive(tree) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert not alive(tree)
        assert app.return_code == 0


async def test_a_crash_shows_why_and_r_brings_it_back(demo_settings):
    async with running_dashboard(demo_settings) as (app, pilot, _sup):
        for proc in children():
            proc.kill()
        banner = app.query_one("#banner")
        await until(pilot, lambda: banner.display and "exited" in plain(banner))
        assert "crashed" in plain(app.query_one("#status"))
        await pilot.press("r")
        await until(pilot, lambda: "running" in plain(app.query_one("#status")))
        await until(pilot, lambda: not banner.display)
