"""The coding agents attached to the session through `debugdash mcp` (issue 17):
each report becomes a ``CodingAgent`` event, which the dashboard shows and the
audit log writes.

An MCP server killed without a word (its client crashed, SIGKILL) cannot say
goodbye, so the pids that connected are looked at every few seconds, and the
ones that are gone are published as disconnected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import psutil

from debugdash.core.audit import current_user
from debugdash.protocol.events import Event
from debugdash.protocol.observe import CodingAgent, CodingAgentReport

#: Seconds between looks at whether the connected `debugdash mcp` processes still run.
WATCH_INTERVAL = 2.0


class CodingAgents:
    def __init__(self, *, publish: Callable[[Event], None], spawn: Callable[[Any], Any]) -> None:
        self._publish = publish
        self._spawn = spawn
        self._connected: dict[int, str] = {}  # pid -> client name
        self._watching = False

    def report(self, report: CodingAgentReport, user: str | None) -> None:
        """Publish what a `debugdash mcp` process said it did."""
        if report.state == "disconnected":
            self._connected.pop(report.pid, None)
        else:
            self._connected[report.pid] = report.client
            if not self._watching:
                self._watching = True
                self._spawn(self._watch())
        self._publish(
            CodingAgent(
                state=report.state, client=report.client, pid=report.pid, user=user or current_user(),
                tool=report.tool, arguments=report.arguments, ok=report.ok, summary=report.summary,
            )
        )

    async def _watch(self) -> None:
        try:
            while self._connected:
                await asyncio.sleep(WATCH_INTERVAL)
                for pid, client in list(self._connected.items()):
                    if not _running(pid):
                        del self._connected[pid]
                        self._publish(CodingAgent(state="disconnected", client=client, pid=pid, user=current_user()))
        finally:
            self._watching = False


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
