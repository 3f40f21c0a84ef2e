"""Warnings that need no server to check: events replayed through the real
Supervisor's publish, as the agent and the allowlist would send them."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, RadioButton

from debugdash.protocol.clock import ManualClock
from debugdash.protocol.events import AccessRefused, Notice
from debugdash.core.settings import Settings
from debugdash.core.supervisor import Supervisor
from debugdash.tui.app import DashboardApp
from debugdash.tui.screens.grant import GrantScreen
from tests.tui import scenes
from tests.tui.conftest import plain, table_rows, toasts, until


def _app(**settings) -> tuple[DashboardApp, Supervisor]:
    supervisor = Supervisor(Settings.for_tests(app="shop", port=5000, cwd=Path("/srv/shop"), **settings), clock=ManualClock())
    return DashboardApp(supervisor, start=False), supervisor


async def test_a_server_bound_to_a_network_is_flagged():
    app, _ = _app(host="0.0.0.0")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "network: 0.0.0.0" in plain(app.query_one("#status")))


async def test_the_grant_modal_offers_the_ssh_client_address(monkeypatch):
    monkeypatch.setenv("SSH_CONNECTION", "203.0.113.7 52144 192.0.2.10 22")
    app, supervisor = _app(host="0.0.0.0")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, GrantScreen))
        assert app.screen.query_one("#grant-address", Input).value == "203.0.113.7"
        assert app.screen.query_one("#grant-duration", Input).value == "15m"
        duration = app.screen.query_one("#grant-duration", Input)
        duration.value = "15"
        await until(pilot, lambda: "no unit" in plain(app.screen.query_one("#grant-error")))
        duration.value = "9h"
        await until(pilot, lambda: "too long" in plain(app.screen.query_one("#grant-error")))
        duration.value = "1h30m"
        app.screen.query_one("#what-both", RadioButton).value = True
        await until(pilot, lambda: plain(app.screen.query_one("#grant-error")) == "")
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, GrantScreen))
        (entry,) = supervisor.access_entries()
        assert (entry.network, entry.what, entry.remaining(supervisor.clock())) == (
            "203.0.113.7/32",
            ("debugger", "attach"),
            5400.0,
        )


async def test_refused_access_and_supervisor_notices_are_announced_as_plain_text():
    app, supervisor = _app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        supervisor.publish([AccessRefused(address="203.0.113.9", what="debugger", detail="/console")])
        supervisor.publish([Notice(level="warning", message="[b]careful[/b] \x1b[2J")])
        await until(pilot, lambda: len(toasts(app)) == 2, what=lambda: toasts(app))
        refused, notice = toasts(app)
        assert refused == "Access refused 203.0.113.9 has no debugger grant (g grants one)."
        assert notice == "[b]careful[/b]"


async def test_an_error_flood_is_announced_once_but_counted_in_full():
    app, supervisor = _app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        supervisor.publish([*scenes.started(), scenes.ready()])
        supervisor.publish([scenes.key_error(float(n)) for n in range(500)])
        table = app.query_one("#errors-table")
        await until(pilot, lambda: table_rows(table) and table_rows(table)[0][0] == "500" and table_rows(table)[0][1].startswith("KeyError"), what=lambda: table_rows(table))
        await pilot.pause()
        assert sum(1 for toast in toasts(app) if toast.startswith("New error")) == 1

