"""`debugdash mcp` against the dashboard (not --headless), in a real terminal: the
same tools answer, and the screen shows the agent and what it last did."""

from __future__ import annotations

import asyncio
import os
import time

from tests.mcp.mcpkit import CLIENT_NAME, agent_at, call
from tests.support import alive, free_port
from tests.tui.test_tmux import GONE_WITHIN, REPO, Tmux, _dashboard, _get, _gone_within, _tree, _wait_running
from tests.tui.test_tmux import tmux  # noqa: F401 - the fixture


async def _on_screen(tmux: Tmux, text: str, timeout: float = 30.0) -> str:
    # Polled without blocking the loop: the MCP client's pipes are read by it.
    deadline = time.monotonic() + timeout
    while text not in (screen := tmux.screen()):
        assert time.monotonic() < deadline, f"not on screen within {timeout} s: {text!r}\n{screen}"
        await asyncio.sleep(0.1)
    return screen


async def _off_screen(tmux: Tmux, text: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while text in (screen := tmux.screen()):
        assert time.monotonic() < deadline, f"still on screen after {timeout} s: {text!r}\n{screen}"
        await asyncio.sleep(0.1)


async def test_the_dashboard_shows_the_agent_and_its_last_call(tmux: Tmux) -> None:
    port = free_port()
    tmux.start(_dashboard(port))
    tree = []
    try:
        _wait_running(tmux)
        tree = _tree(tmux.pane_pid())
        assert _get(port, "/divide") == 500
        async with agent_at(REPO, dict(os.environ)) as client:
            await _on_screen(tmux, f"Coding agent {CLIENT_NAME} is connected")
            failed, text = await call(client, "error")
            assert not failed and "ZeroDivisionError" in text
            await _on_screen(tmux, f"agent {CLIENT_NAME}: error ✓")
            failed, text = await call(client, "grant_access", address="203.0.113.7")
            assert failed and "debugdash allow 203.0.113.7" in text
            await _on_screen(tmux, f"agent {CLIENT_NAME}: grant_access ✗ refused")
        await _on_screen(tmux, f"Coding agent {CLIENT_NAME} disconnected")
        # The toast shows at once; the status line at its next redraw (at most 10 a second).
        await _off_screen(tmux, f"agent {CLIENT_NAME}:")
        tmux.press("q")
        assert not _gone_within(tree, GONE_WITHIN)
    finally:
        for proc in alive(tree):
            proc.kill()
