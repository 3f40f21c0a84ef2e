"""The dashboard shows that a coding agent is attached through `debugdash mcp` and
what it last did: events replayed through the real Supervisor's publish, as the
control socket publishes them."""

from __future__ import annotations

from pathlib import Path

from debugdash.core.settings import Settings
from debugdash.core.supervisor import Supervisor
from debugdash.protocol.clock import ManualClock
from debugdash.protocol.observe import CodingAgent
from debugdash.tui.app import DashboardApp
from tests.tui import scenes
from tests.tui.conftest import plain, toasts, until


def _agent(state: str, at: float, **fields) -> CodingAgent:
    return CodingAgent(time=at, state=state, client="claude-code\x1b[2J", pid=4242, user="dev", **fields)


async def test_the_status_line_shows_the_agent_and_its_last_call_at_80_columns() -> None:
    supervisor = Supervisor(Settings.for_tests(app="shop", port=5000, cwd=Path("/srv/shop")), clock=ManualClock())
    app = DashboardApp(supervisor, start=False, wall_clock=lambda: scenes.T0 + 754)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        supervisor.publish([*scenes.started(), scenes.ready()])
        status = app.query_one("#status")
        supervisor.publish([_agent("connected", scenes.T0 + 700)])
        await until(pilot, lambda: "agent claude-code" in plain(status) and "\x1b" not in plain(status), what=lambda: plain(status))
        await until(pilot, lambda: any("Coding agent claude-code" in toast and "connected" in toast for toast in toasts(app)),
                    what=lambda: toasts(app))

        supervisor.publish([_agent("call", scenes.T0 + 742, tool="wait_for_reload", ok=True, summary="ready app.py")])
        await until(pilot, lambda: "agent claude-code: wait_for_reload ✓ 12s ago" in plain(status), what=lambda: plain(status))
        supervisor.publish([_agent("call", scenes.T0 + 750, tool="grant_access", ok=False, summary="refused")])
        await until(pilot, lambda: "grant_access ✗ refused 4s ago" in plain(status), what=lambda: plain(status))

        supervisor.publish([_agent("disconnected", scenes.T0 + 753)])
        await until(pilot, lambda: "agent" not in plain(status), what=lambda: plain(status))
