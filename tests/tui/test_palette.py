"""Every command of the command palette (Ctrl+P), typed by name and run with
Enter, checked by what it does on screen — against replayed events for the
commands that only move around, and a real demo server for the rest."""

from __future__ import annotations

import asyncio
import re
import time

from textual.command import CommandList, CommandPalette

from debugdash.tui.widgets.errors_pane import NO_ERRORS
from debugdash.tui.commands import COMMANDS
from debugdash.tui.screens.grant import GrantScreen
from debugdash.tui.widgets.access import EMPTY_TEXT
from debugdash.tui.widgets.status import ToggleBar
from tests.support import alive
from tests.tui import scenes
from tests.tui.conftest import (
    DEMO_DIR,
    DIVIDE,
    arequest,
    children,
    demo_line,
    plain,
    rows_on_screen,
    running_dashboard,
    screen_text,
    shown_pid,
    toasts,
    traceback_lines,
    until,
)


def _pin(text: str) -> str | None:
    match = re.search(r"PIN (\d{3}-\d{3}-\d{3})", text)
    return match.group(1) if match else None


def _first_line(prompt) -> str:
    return str(getattr(prompt, "plain", prompt)).split("\n", 1)[0]


async def run_command(pilot, title: str) -> None:
    """Ctrl+P, type the command's name, wait until it is the highlighted hit, Enter."""
    app = pilot.app
    await pilot.press("ctrl+p")
    await until(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
    await pilot.press(*title)
    hits = app.screen.query_one(CommandList)
    await until(
        pilot,
        lambda: hits.highlighted_option is not None and _first_line(hits.highlighted_option.prompt) == title,
        what=f"{title!r} offered first",
    )
    await pilot.press("enter")
    await until(pilot, lambda: not isinstance(app.screen, CommandPalette), what="the palette to close")


async def test_every_palette_command_that_moves_around_the_dashboard():
    app, _supervisor, _clock = scenes.make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await scenes.publish(pilot, scenes.running_with_errors())
        app.clear_notifications()
        shows = [
            ("Show the server log", "/ search · f follow"),
            ("Show reloads", "served in"),
            ("Show remote access", EMPTY_TEXT),
            ("Show external attach", "External attach is off"),
            ("Show errors", "KeyError: 'B-12'"),
            ("Clear the highlighted error group", "RuntimeError: the configured port is not a number"),
            ("Clear all errors", NO_ERRORS[:40]),
            ("Help: every key", "debugdash keys"),
        ]
        for title, seen in shows:
            assert seen not in screen_text(app), title
            await run_command(pilot, title)
            await until(pilot, lambda seen=seen: seen in screen_text(app), what=f"{title}: {seen!r} on screen")
        await pilot.press("escape")
        assert {title for title, _ in shows} | SERVER_COMMANDS | TESTED_ELSEWHERE == {title for title, _help, _action in COMMANDS}


#: Palette commands checked in the test of their own feature.
TESTED_ELSEWHERE = {
    "Save the log to a file",  # tests/tui/test_log_pane.py
    "Console in the highlighted frame",  # tests/tui/test_console.py
}


#: Palette commands checked against a running server in the test below.
SERVER_COMMANDS = {
    "Toggle the debugger",
    "Toggle Flask debug mode",
    "Toggle the reloader",
    "Restart the server",
    "Grant remote access",
    "Revoke the highlighted remote access",
    "Revoke all remote access",
    "New debugger PIN",
    "Open the highlighted frame in $EDITOR",
    "Copy the traceback (or attach help)",
    "Toggle external attach (debugpy)",
    "Quit",
}


async def test_every_palette_command_that_acts_on_the_server(demo_settings, editor_record):
    record = editor_record
    async with running_dashboard(demo_settings) as (app, pilot, _sup):
        bar = app.query_one(ToggleBar)
        status = app.query_one("#status")

        old_pin = _pin(plain(bar))
        assert old_pin
        await run_command(pilot, "New debugger PIN")
        await until(pilot, lambda: _pin(plain(bar)) not in (None, old_pin), what=lambda: f"a new PIN in {plain(bar)!r}")
        assert any(f"New debugger PIN PIN {_pin(plain(bar))}" in toast for toast in toasts(app)), toasts(app)

        await run_command(pilot, "Toggle the debugger")
        await until(pilot, lambda: "debugger ○ off" in plain(bar))
        pid = shown_pid(app)
        await run_command(pilot, "Toggle Flask debug mode")
        await until(pilot, lambda: "debug ○ off" in plain(bar))
        await until(pilot, lambda: "running" in plain(status) and shown_pid(app) not in (None, pid), what="restarted without debug")
        pid = shown_pid(app)
        await run_command(pilot, "Toggle the reloader")
        await until(pilot, lambda: "reloader ○ off" in plain(bar))
        await until(pilot, lambda: "running" in plain(status) and shown_pid(app) not in (None, pid), what="restarted without reloader")
        pid = shown_pid(app)
        await run_command(pilot, "Restart the server")
        await until(pilot, lambda: "running" in plain(status) and shown_pid(app) not in (None, pid), what="restarted")

        await run_command(pilot, "Grant remote access")
        await until(pilot, lambda: "Grant remote access" in screen_text(app) and isinstance(app.screen, GrantScreen))
        await pilot.press(*"127.0.0.2", "enter")
        table = app.query_one("#access-table")
        await until(pilot, lambda: table.row_count == 1, what="the grant on screen")
        await app.sup.grant("127.0.0.3", ttl="30m")
        await until(pilot, lambda: table.row_count == 2)
        await run_command(pilot, "Revoke the highlighted remote access")
        await until(pilot, lambda: [row.split()[0] for row in rows_on_screen(table)[1:] if row.strip()] == ["127.0.0.3/32"])
        await app.sup.grant("127.0.0.4", ttl="5m")
        await until(pilot, lambda: table.row_count == 2)
        await run_command(pilot, "Revoke all remote access")
        await until(pilot, lambda: EMPTY_TEXT in screen_text(app), what="no remote access left")

        await pilot.press("1")
        await arequest(demo_settings.port, "/divide")
        await until(pilot, lambda: traceback_lines(app)[-1] == "ZeroDivisionError: division by zero")
        await run_command(pilot, "Open the highlighted frame in $EDITOR")
        await until(pilot, record.exists, what="the editor to run")
        assert record.read_text().split("\n")[:2] == [f"+{demo_line(DIVIDE)}", str(DEMO_DIR / "app.py")]
        await run_command(pilot, "Copy the traceback (or attach help)")
        await until(pilot, lambda: any("Traceback copied" in toast for toast in toasts(app)))
        assert app.clipboard.rstrip().endswith("ZeroDivisionError: division by zero")

        await run_command(pilot, "Toggle external attach (debugpy)")
        await until(pilot, lambda: "attach ● on" in plain(bar), timeout=60, what=lambda: f"attach on: bar {plain(bar)!r}, toasts {toasts(app)}")

        tree = children()
        await run_command(pilot, "Quit")
        deadline = time.monotonic() + 30
        while alive(tree) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert not alive(tree)
        assert app.return_code == 0
