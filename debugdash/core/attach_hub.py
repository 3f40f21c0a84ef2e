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
Protocol itself over its one connection; the hub shares it between sessions
(requests renumbered, each response back to its asker) and, like debugpy's own
adapter, lets one of them ``attach`` at a time. A session that arrives before
the debuggee has connected (just after attach was turned on, or a reload)
waits for it, up to ``wait`` seconds. An attached session that ends without
``disconnect`` gets one sent on its behalf, so the debuggee never stays paused
for an IDE that is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable, Iterable

from debugdash.protocol.events import AccessRefused, Event, Notice
from debugdash.protocol.peers import holds_socket, owner_uid, peer_socket

#: How long a session waits for the debuggee to connect.
DEBUGGEE_WAIT = 10.0
_MAX_HEADER = 1024
_MAX_BODY = 64 * 1024 * 1024


class _Debuggee:
    def __init__(self, pid: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.pid = pid
        self.reader = reader
        self.writer = writer
        self.gone = asyncio.Event()


class _Session:
    """One relayed IDE connection."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.said_goodbye = False


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
        self._arrival = asyncio.Event()  # set, and replaced, whenever a debuggee connects
        self._sessions: dict[_Session, None] = {}  # connected IDEs, in order
        self._owner: _Session | None = None  # the one that attached
        #: Requests in flight: our number -> (session, its own number).
        self._pending: dict[int, tuple[_Session, object]] = {}
        self._own_seq = 0
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
            kind, pid, refusal = await asyncio.to_thread(self._classify, writer)
            if refusal is not None:
                self._publish(refusal)
            if kind == "debuggee":
                await self._serve_debuggee(pid, reader, writer)
            elif kind == "session":
                await self._serve_session(reader, writer)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            pass
        except asyncio.CancelledError:
            # close() cancels us: end quietly, or asyncio's stream callback logs the
            # cancellation as an error on the user's terminal as debugdash quits.
            pass
        finally:
            self._tasks.discard(task)
            writer.transport.abort()

    def _classify(self, writer: asyncio.StreamWriter) -> tuple[str | None, int, AccessRefused | None]:
        """Which side a connection is; runs in a thread (it reads /proc)."""
        peer = writer.get_extra_info("peername")
        ours = writer.get_extra_info("sockname")
        found = peer_socket(peer[:2], ours[:2]) if peer and ours and peer[0] == "127.0.0.1" else None
        if found is not None:
            uid, inode = found
            if holds_socket(os.getpid(), inode):
                return "session", os.getpid(), None
            for pid in self._debuggee_pids() if uid == owner_uid() else ():
                if holds_socket(pid, inode):
                    return "debuggee", pid, None
        uid = found[0] if found is not None else None
        return None, 0, AccessRefused(
            address=str(peer[0]) if peer else "",
            what="attach",
            detail="debug adapter endpoint (only the attach port leads there)",
            uid=uid if uid != owner_uid() else None,
        )

    # --- the debuggee -------------------------------------------------------------

    async def _serve_debuggee(self, pid: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        old, debuggee = self._debuggee, _Debuggee(pid, reader, writer)
        if old is not None:  # a reloaded worker replaces the one going away
            old.writer.transport.abort()
        self._debuggee = debuggee
        self._pending.clear()
        arrival, self._arrival = self._arrival, asyncio.Event()
        arrival.set()
        self._on_debuggee()
        try:
            while (message := await _read_message(reader)) is not None:
                self._to_sessions(message)
        finally:
            debuggee.gone.set()
            if self._debuggee is debuggee:
                self._debuggee = None
                # The IDEs learn that their debuggee went away (reload, attach off).
                for session in list(self._sessions):
                    session.writer.transport.abort()

    def _to_sessions(self, message: dict) -> None:
        if message.get("type") == "response":
            # Back to the session that asked, under its own number; ours go nowhere.
            asked = self._pending.pop(int(message.get("request_seq") or 0), None)
            if asked is None or asked[0] not in self._sessions:
                return
            message["request_seq"] = asked[1]
            asked[0].writer.write(_frame(message))
            return
        # Events (and pydevd's rare requests) belong to the attached IDE; before
        # anyone attached, every connected one may see them.
        for session in [self._owner] if self._owner is not None else list(self._sessions):
            session.writer.write(_frame(message))

    # --- one IDE session ------------------------------------------------------------

    async def _serve_session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not await self._debuggee_ready():
            self._publish(
                Notice(level="warning", message=f"attach client turned away: debugpy did not start within {self._wait:g} s")
            )
            return
        debuggee = self._debuggee
        assert debuggee is not None
        session = _Session(writer)
        self._sessions[session] = None
        try:
            while (message := await _read_message(reader)) is not None:
                if debuggee.gone.is_set():
                    return
                if message.get("type") == "request" and not self._admit_request(session, message):
                    continue
                self._own_seq += 1
                self._pending[self._own_seq] = (session, message.get("seq"))
                message["seq"] = self._own_seq
                debuggee.writer.write(_frame(message))
                await debuggee.writer.drain()
        finally:
            del self._sessions[session]
            if self._owner is session:
                self._owner = None
                if not session.said_goodbye and not debuggee.gone.is_set():
                    self._say_goodbye(debuggee)

    def _admit_request(self, session: _Session, message: dict) -> bool:
        """One IDE debugs at a time, as with debugpy's own adapter: a second
        ``attach`` is answered with a refusal; ``initialize`` is anyone's."""
        command = message.get("command")
        if command in ("attach", "launch"):
            if self._owner is not None and self._owner is not session:
                session.writer.write(
                    _frame(
                        {
                            "seq": 0,
                            "type": "response",
                            "request_seq": message.get("seq"),
                            "success": False,
                            "command": command,
                            "message": "the server is already being debugged by another client",
                        }
                    )
                )
                return False
            self._owner = session
        elif command == "disconnect" and self._owner is session:
            session.said_goodbye = True
        return True

    async def _debuggee_ready(self) -> bool:
        """Wait for a debuggee of the *current* server: right after a reload the
        old worker's connection may not have ended yet, and it is about to."""
        deadline = asyncio.get_running_loop().time() + self._wait
        while True:
            debuggee = self._debuggee
            if debuggee is not None and debuggee.pid in self._debuggee_pids():
                return True
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return False
            with contextlib.suppress(asyncio.TimeoutError):
                # Also re-checked now and then: the old worker may end without a new one yet.
                await asyncio.wait_for(self._arrival.wait(), min(left, 0.2))

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
