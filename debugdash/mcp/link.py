"""The session as `debugdash mcp` reaches it: one control request per call, each
in a worker thread so the MCP server's event loop keeps answering."""

from __future__ import annotations

import functools
import os
import time
from typing import Any

import anyio.to_thread

from debugdash.core import control
from debugdash.core.errors import UserInputError
from debugdash.protocol.control import Request
from debugdash.protocol.observe import CodingAgentReport

#: Seconds a report of what the agent did may take; the session may be gone.
REPORT_TIMEOUT = 5.0


class SessionLink:
    """One session, pinned by its server port, and what this agent last did there."""

    def __init__(self, port: int) -> None:
        self.port = port
        #: The name the MCP client gave in its handshake ("claude-code"), once known.
        self.client = ""
        #: Wall time this agent's previous tool call began: a reload after it is one it may wait for.
        self.previous_call: float | None = None
        self._connected = False

    async def ask(self, message: Request, timeout: float = 30.0) -> Any:
        """The session's answer to ``message``; UserInputError with its message when it refuses or is gone."""
        # A cancelled call (the client gave up on a long wait_for_reload) returns at once;
        # the thread's socket ends by its own timeout.
        return await anyio.to_thread.run_sync(
            functools.partial(control.request, message, self.port, timeout), abandon_on_cancel=True
        )

    async def connected(self) -> None:
        """Tell the session (and so the dashboard and the audit log) that an agent is here; once."""
        if not self._connected:
            self._connected = True
            await self._report(state="connected")

    async def called(self, tool: str, arguments: str, *, ok: bool, summary: str) -> None:
        await self.connected()
        await self._report(state="call", tool=tool, arguments=arguments, ok=ok, summary=summary)

    def disconnected(self) -> None:
        """Said as the server ends (blocking: the event loop may be gone)."""
        if self._connected:
            try:
                control.request(self._message(state="disconnected"), self.port, REPORT_TIMEOUT)
            except UserInputError:
                pass

    def begin_call(self) -> float | None:
        """Note a tool call starting; returns when the one before it started."""
        previous, self.previous_call = self.previous_call, time.time()
        return previous

    async def _report(self, **fields: Any) -> None:
        try:
            await self.ask(self._message(**fields), timeout=REPORT_TIMEOUT)
        except UserInputError:
            pass  # the session went away: the tool's own answer says so

    def _message(self, **fields: Any) -> CodingAgentReport:
        return CodingAgentReport(client=self.client or "mcp client", pid=os.getpid(), **fields)
