"""The supervisor's end of the agent socket: admits agents that know the
session's token, answers each ``hello`` with the whole current state, passes
their events on, and sends them commands by role.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from debugdash.core.agent_lines import AgentLines
from debugdash.protocol import commands as wire
from debugdash.protocol.events import Event


class AgentHub:
    def __init__(
        self,
        *,
        configure: Callable[[wire.Hello], wire.Configure],
        on_event: Callable[[Event], None],
    ) -> None:
        self._configure = configure
        self._on_event = on_event
        #: One-time secret handed to our servers through their environment.
        self.token = secrets.token_urlsafe(32)
        self._server: asyncio.AbstractServer | None = None
        self._agents: dict[asyncio.StreamWriter, wire.Hello] = {}
        #: The agents' own lines of recent error events, for ``--json`` to write as they came.
        self.lines = AgentLines()

    async def start(self, path: Path) -> None:
        self._server = await asyncio.start_unix_server(self._serve, path=str(path), limit=wire.MAX_LINE)
        os.chmod(path, 0o600)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._agents):
            writer.close()

    def send(self, command: wire.Command, roles: tuple[str, ...] = ("worker", "server", "reloader")) -> None:
        """Send ``command`` to every connected agent of one of ``roles``."""
        data = wire.encode(command)
        for writer, hello in list(self._agents.items()):
            if hello.role in roles:
                with contextlib.suppress(OSError, RuntimeError):
                    writer.write(data)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), timeout=10)
            hello = wire.decode(line)
            if not isinstance(hello, wire.Hello) or not hmac.compare_digest(hello.token, self.token):
                writer.close()
                return
            self._agents[writer] = hello
            writer.write(wire.encode(self._configure(hello)))
            await writer.drain()
            while line := await reader.readline():
                try:
                    message = wire.decode(line)
                except ValueError:
                    continue
                if isinstance(message, Event):
                    self.lines.remember(message, line)
                    self._on_event(message)
        except (OSError, ValueError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            self._agents.pop(writer, None)
            writer.close()
