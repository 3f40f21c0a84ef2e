"""The only way into the debuggee's debugger: a private endpoint in the supervisor.

debugpy's ``listen()`` would leave its adapter on an unauthenticated 127.0.0.1
port that any local user, and any 127.0.0.x address, can reach and execute
code through. Instead the server's pydevd connects *outward* to this hub, and
the hub takes exactly two kinds of connection on its 127.0.0.1 port, told
apart by which process holds the peer socket (looked up in /proc, so nothing
another user sends can fake it):

- the debuggee: a socket held by the supervised server's process tree;
- sessions: sockets held by this very process, i.e. the attach relay's
  upstream connections, which the relay opened only for admitted peers.

Anything else is closed before a byte is read. pydevd speaks the Debug Adapter
Protocol itself and serves one session at a time over its one connection, so
sessions take turns; one that arrives before the debuggee has connected (just
after attach was turned on, or a reload) waits for it, up to ``wait`` seconds.
A session that ends without ``disconnect`` gets one sent on its behalf, so the
debuggee never stays paused for an IDE that is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable, Iterable

from debugdash.core.events import AccessRefused, Event, Notice
from debugdash.core.peers import holds_socket, owner_uid, peer_socket

#: How long a session waits for the debuggee to connect.
DEBUGGEE_WAIT = 10.0
#: Requests the hub sends itself are numbered from here, far from any IDE's.
_OWN_SEQ = 1_000_000_000
_MAX_HEADER = 1024
_MAX_BODY = 64 * 1024 * 1024


class _Debuggee:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.gone = asyncio.Event()


class AttachHub:
    """pydevd's connection, and the relay's sessions taking turns on it."""

    def __init__(
        self,
        *,
        debuggee_pids: Callable[[], Iterable[int]],
        publish: Callable[[Event], None],
        on_debuggee: Callable[[], None] = lambda: None,
        wait: float = DEBUGGEE_WAIT,
    ) -> None:
        self._debuggee_pids = debuggee_pids
        self._publish = publish
        self._on_debuggee = on_debuggee
        self._wait = wait
        self._server: asyncio.Server | None = None
        self._debuggee: _Debuggee | None = None
        self._arrived = asyncio.Event()
        self._turn = asyncio.Lock()
        self._session: asyncio.StreamWriter | None = None
        self._own_seq = _OWN_SEQ
        self._tasks: set[asyncio.Task] = set()

    @property
    def port(self) -> int | None:
        """The port on 127.0.0.1 the debuggee connects to; None when not started."""
        if self._server is None:
            return None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    async def stop(self) -> None:
        """Close the port, the debuggee's connection (pydevd stops) and every session."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        if self._debuggee is not None:
            self._debuggee.writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2.0)
        if server is not None:
            await server.wait_closed()

    # --- who is calling -------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            kind, refusal = await asyncio.to_thread(self._classify, writer)
            if refusal is not None:
                self._publish(refusal)
            if kind == "debuggee":
                await self._serve_debuggee(reader, writer)
            elif kind == "session":
                await self._serve_session(reader, writer)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._tasks.discard(task)
            writer.transport.abort()

    def _classify(self, writer: asyncio.StreamWriter) -> tuple[str | None, AccessRefused | None]:
        """Which side a connection is; runs in a thread (it reads /proc)."""
        peer = writer.get_extra_info("peername")
        ours = writer.get_extra_info("sockname")
        found = peer_socket(peer[:2], ours[:2]) if peer and ours and peer[0] == "127.0.0.1" else None
        if found is not None:
            uid, inode = found
            if holds_socket(os.getpid(), inode):
                return "session", None
            if uid == owner_uid() and any(holds_socket(pid, inode) for pid in self._debuggee_pids()):
                return "debuggee", None
        uid = found[0] if found is not None else None
        return None, AccessRefused(
            address=str(peer[0]) if peer else "",
            what="attach",
            detail="debug adapter endpoint (only the attach port leads there)",
            uid=uid if uid != owner_uid() else None,
        )

    # --- the debuggee -------------------------------------------------------------

    async def _serve_debuggee(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        old, debuggee = self._debuggee, _Debuggee(reader, writer)
        if old is not None:  # a reloaded worker replaces the one going away
            old.writer.transport.abort()
        self._debuggee = debuggee
        self._arrived.set()
        self._on_debuggee()
        try:
            while (message := await _read_message(reader)) is not None:
                session = self._session
                if session is None or _answers_us(message):
                    continue  # nobody to tell, or the answer to our own disconnect
                session.write(_frame(message))
        finally:
            debuggee.gone.set()
            if self._debuggee is debuggee:
                self._debuggee = None
                self._arrived.clear()
            if self._session is not None:
                # The IDE learns that its debuggee went away (reload, attach off).
                self._session.transport.abort()

    # --- one IDE session ------------------------------------------------------------

    async def _serve_session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with self._turn:
            if not await self._debuggee_ready():
                self._publish(
                    Notice(level="warning", message=f"attach client turned away: debugpy did not start within {self._wait:g} s")
                )
                return
            debuggee = self._debuggee
            assert debuggee is not None
            self._session = writer
            said_goodbye = False
            try:
                while (message := await _read_message(reader)) is not None:
                    if debuggee.gone.is_set():
                        return
                    if message.get("type") == "request" and message.get("command") == "disconnect":
                        said_goodbye = True
                    debuggee.writer.write(_frame(message))
                    await debuggee.writer.drain()
            finally:
                self._session = None
                if not said_goodbye and not debuggee.gone.is_set():
                    self._say_goodbye(debuggee)

    async def _debuggee_ready(self) -> bool:
        if self._debuggee is not None:
            return True
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._arrived.wait(), self._wait)
        return self._debuggee is not None

    def _say_goodbye(self, debuggee: _Debuggee) -> None:
        """Disconnect on behalf of an IDE that left without: paused threads run on."""
        self._own_seq += 1
        request = {
            "seq": self._own_seq,
            "type": "request",
            "command": "disconnect",
            "arguments": {"restart": False, "terminateDebuggee": False},
        }
        with contextlib.suppress(OSError, RuntimeError):
            debuggee.writer.write(_frame(request))


def _answers_us(message: dict) -> bool:
    return message.get("type") == "response" and int(message.get("request_seq") or 0) > _OWN_SEQ


def _frame(message: dict) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


async def _read_message(reader: asyncio.StreamReader) -> dict | None:
    """One DAP message, or None at the end of the stream."""
    length = None
    while True:
        line = await reader.readline()
        if not line:
            return None
        if len(line) > _MAX_HEADER:
            raise ValueError("DAP header too long")
        if line in (b"\r\n", b"\n"):
            if length is not None:
                break
            continue
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
            if not 0 <= length <= _MAX_BODY:
                raise ValueError("DAP message too large")
    body = await reader.readexactly(length)
    message = json.loads(body)
    if not isinstance(message, dict):
        raise ValueError("DAP message is not an object")
    return message
