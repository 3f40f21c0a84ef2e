"""The supervisor's end of the agent socket: admits agents that know the
session's token, answers each ``hello`` with the whole current state, passes
their events on, sends them commands by role, and asks the serving process
queries (``ask``), matching each reply to its question by ``qid``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from debugdash.core.agent_lines import AgentLines
from debugdash.protocol import commands as wire
from debugdash.protocol.events import Event, Reply

R = TypeVar("R", bound=Reply)

#: The processes that serve requests (the reloader parent only restarts them).
SERVING_ROLES = ("worker", "server")


class AgentQueryError(Exception):
    """A query got no answer: no server runs, it went away, it timed out or it failed; the message says which."""


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
        self._qids = itertools.count(1)
        #: Open questions: qid -> (the agent asked, the future its reply resolves).
        self._pending: dict[int, tuple[asyncio.StreamWriter, asyncio.Future[Reply]]] = {}
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

    async def ask(self, query: wire.Query, *, timeout: float = 10.0) -> Reply:
        """Ask the newest serving process ``query`` and return its reply (a ``query.Reply``).

        Raises AgentQueryError when no server is connected, when it goes away or
        does not answer within ``timeout`` seconds, or when it says it failed.
        """
        serving = [writer for writer, hello in self._agents.items() if hello.role in SERVING_ROLES]
        if not serving:
            raise AgentQueryError("no server is running to ask (it is starting, reloading or stopped)")
        writer = serving[-1]  # dicts keep insertion order: the newest connection
        query.qid = next(self._qids)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[query.qid] = (writer, future)
        try:
            writer.write(wire.encode(query))
            reply = await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise AgentQueryError(f"the server did not answer {query.name!r} within {timeout:g} s") from None
        except (OSError, RuntimeError) as e:
            raise AgentQueryError(f"could not ask the server: {e}") from None
        finally:
            self._pending.pop(query.qid, None)
        if not reply.ok:
            raise AgentQueryError(reply.error or f"the server could not answer {query.name!r}")
        if not isinstance(reply, query.Reply):
            raise AgentQueryError(f"the server answered {query.name!r} with {reply.name!r}")
        return reply

    def _replied(self, reply: Reply) -> None:
        waiting = self._pending.get(reply.qid)
        if waiting is not None and not waiting[1].done():
            waiting[1].set_result(reply)

    def _gone(self, writer: asyncio.StreamWriter) -> None:
        """``writer``'s process went away: its open questions get no answer."""
        for agent, future in list(self._pending.values()):
            if agent is writer and not future.done():
                future.set_exception(AgentQueryError("the server went away (reloaded or stopped) before it answered"))

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
                if isinstance(message, Reply):
                    self._replied(message)
                elif isinstance(message, Event):
                    self.lines.remember(message, line)
                    self._on_event(message)
        except (OSError, ValueError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            self._agents.pop(writer, None)
            self._gone(writer)
            writer.close()
