"""Warnings that need no server to check: events replayed through the real
Supervisor's publish, as the agent and the allowlist would send them."""

from __future__ import annotations

from pathlib import Path

from debugdash.core.clock import ManualClock
from debugdash.core.events import AccessRefused, Notice
from debugdash.core.settings import Settings
from debugdash.core.supervisor import Supervisor
from debugdash.tui.app import DashboardApp
from tests.tui import scenes
from tests.tui.conftest import plain, until


def _app(**settings) -> tuple[DashboardApp, Supervisor]:
    supervisor = Supervisor(Settings.for_tests(app="shop", port=5000, cwd=Path("/srv/shop"), **settings), clock=ManualClock())
    return DashboardApp(supervisor, start=False), supervisor


async def test_a_server_bound_to_a_network_is_flagged():
    app, _ = _app(host="0.0.0.0")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "network: 0.0.0.0" in plain(app.query_one("#status")))


async def test_refused_access_and_supervisor_notices_are_announced_as_plain_text():
    app, supervisor = _app()
    async with app.run_test(size=(100, 30)) as pilot:
        supervisor.publish([AccessRefused(address="203.0.113.9", what="debugger", detail="/console")])
        supervisor.publish([Notice(level="warning", message="[b]careful[/b] \x1b[2J")])
        await until(pilot, lambda: len(app._notifications) == 2)
        refused, notice = list(app._notifications)
        assert refused.title == "Access refused" and "203.0.113.9" in refused.message
        assert notice.message == "[b]careful[/b] " and notice.markup is False


async def test_an_error_flood_is_announced_once_but_counted_in_full():
    app, supervisor = _app()
    async with app.run_test(size=(100, 30)) as pilot:
        supervisor.publish([*scenes.started(), scenes.ready()])
        supervisor.publish([scenes.key_error(float(n)) for n in range(500)])
        await until(pilot, lambda: app.query_one("#errors-table").row_count == 1)
        assert app.state.error_groups[0].count == 500
        assert sum(1 for n in app._notifications if n.title == "New error") == 1

