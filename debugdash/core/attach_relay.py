"""The user-facing attach port: a TCP relay in front of debugpy.

debugpy listens on 127.0.0.1 on an internal port inside the server and checks
nobody. This relay, in the supervisor, is the only way in from elsewhere: it
accepts a connection only when ``allowed(peer)`` says so (judged by the socket
peer address alone, before a single byte is read) and, for a loopback peer,
when its socket belongs to debugdash's Unix user or it holds a grant: any user
of the machine can connect from 127.0.0.1, and can close open
connections the moment a grant ends. Because it lives in the supervisor, the
port disappears with debugdash.

What the IDE sends is read as Debug Adapter Protocol messages (``core.dap``) and
passed on whole; bytes that are not DAP close that one connection, with an
``access_refused`` (so an audit line) naming why. The other direction is the
hub's, already framed, and is copied as it comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import time
from collections.abc import Callable

import psutil

from debugdash.protocol.addresses import is_local, parse_peer
from debugdash.core.dap import DapFramingError, frame, read_message
from debugdash.core.errors import UserInputError
from debugdash.protocol.events import AccessRefused, AttachClient, AttachListening, Event, Notice
from debugdash.protocol.peers import owner_uid, socket_peer_uid
from debugdash.protocol.text import display_text

_CHUNK = 64 * 1024
_CONNECT_TIMEOUT = 5.0
_STOP_TIMEOUT = 2.0
#: How long after a debugpy session ends before the next one is connected. The
#: debugpy adapter finalizes an ended session asynchronously; an attach that
#: arrives in those few milliseconds is refused ("already being debugged") and
#: leaves the adapter to exit shortly after, so a quick re-attach (after an
#: expiry, or a client retrying) would lose debugpy for good.
SETTLE_SECONDS = 0.5
#: A client that drops and reconnects at once can reach us before we have seen
#: its old connection end; wait this long for that before calling it concurrent.
_OVERLAP_GRACE = 0.3


class _Connection:
    """One accepted client, and its upstream once connected."""

    def __init__(self, peer: str, client: asyncio.StreamWriter, uid: int | None = None) -> None:
        self.peer = peer
        self.uid = uid  # the owner of a loopback peer's socket
        self.since = time.time()
        self.client = client
        self.upstream: asyncio.StreamWriter | None = None
        self.kicked = False
        self.malformed = ""  # why the client's bytes could not be read as DAP
        self.ended = False  # the relaying stopped; closing may still be under way
        self.task: asyncio.Task | None = asyncio.current_task()

    def kick(self) -> None:
        """Drop both sides now, discarding anything unsent."""
        self.kicked = True
        self.client.transport.abort()
        if self.upstream is not None:
            self.upstream.transport.abort()


class AttachRelay:
    """Relays allowed TCP clients on ``host:port`` to debugpy on ``127.0.0.1:target()``.

    ``allowed(peer)`` gets the normalised peer address (``::ffff:a.b.c.d``
    becomes ``a.b.c.d``) and decides; an exception there counts as a refusal.
    A loopback peer must in addition be ``owner``'s (default: debugdash's user)
    or pass ``granted(peer)``, the grants alone.
    ``publish`` receives AttachListening, AttachClient, AccessRefused and Notice
    events. Everything runs on the event loop that called ``start``.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        target: Callable[[], int | None],
        allowed: Callable[[str], bool],
        publish: Callable[[Event], None],
        granted: Callable[[str], bool] = lambda peer: False,
        owner: int | None = None,
        announce: bool = True,
    ) -> None:
        self.host = host
        self._requested_port = port
        self._bound_port: int | None = None
        self._target = target
        self._allowed = allowed
        self._granted = granted
        self._announce = announce  # False: the owner announces once something answers behind us
        self._owner = owner_uid() if owner is None else owner
        self._publish = publish
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._settled_at = 0.0  # time.monotonic() before which no new debugpy session starts

    @property
    def port(self) -> int:
        """The port actually bound (useful with port 0); the requested one before ``start``."""
        return self._bound_port if self._bound_port is not None else self._requested_port

    @property
    def listening(self) -> bool:
        return self._server is not None

    @property
    def clients(self) -> list[tuple[str, float]]:
        """``(peer, connected since, wall time)`` for every client relayed to debugpy now."""
        relayed = (c for c in self._connections if c.upstream is not None and not (c.kicked or c.ended))
        return sorted(((c.peer, c.since) for c in relayed), key=lambda pair: pair[1])

    async def start(self) -> None:
        """Listen on ``host:port``; UserInputError naming the holder if the port is taken."""
        if self._server is not None:
            return
        try:
            self._server = await asyncio.start_server(self._accept, self.host, self._requested_port)
        except OSError as e:
            raise UserInputError(_bind_failure(self.host, self._requested_port, e)) from None
        self._bound_port = self._server.sockets[0].getsockname()[1]
        if self._announce:
            self._publish(AttachListening(host=self.host, port=self.port))

    async def stop(self) -> None:
        """Stop listening and close every connection; the port is free when this returns."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        tasks = [c.task for c in self._connections if c.task is not None]
        for connection in list(self._connections):
            connection.kick()
        if tasks:
            await asyncio.wait(tasks, timeout=_STOP_TIMEOUT)
        await server.wait_closed()
        self._publish(AttachListening(host=self.host, port=self.port, listening=False))

    def close_where(self, predicate: Callable[[str], bool]) -> int:
        """Close the open connections whose peer address matches; return how many.

        Called when a grant expires or is revoked, with e.g. ``lambda peer: not
        allowed(peer)``. The connections are dropped at once; their
        ``disconnected`` events follow on the event loop.
        """
        return self._close([c for c in self._connections if not c.kicked and predicate(c.peer)])

    def close_unallowed(self) -> int:
        """Close the open connections that would be refused now (a grant ended)."""
        return self._close([c for c in self._connections if not c.kicked and not self._admits(c.peer, c.uid)])

    def _close(self, closing: list[_Connection]) -> int:
        for connection in closing:
            connection.kick()
        if closing:
            self._settle()
        return len(closing)

    def _settle(self) -> None:
        self._settled_at = time.monotonic() + SETTLE_SECONDS

    async def _settle_debugpy(self, connection: _Connection) -> bool:
        """Wait until debugpy has had time to finish the previous session; True if we waited."""
        waited = False
        give_up = time.monotonic() + _OVERLAP_GRACE
        while self._others_relaying(connection) and time.monotonic() < give_up:
            waited = True
            await asyncio.sleep(0.01)
        if (wait := self._settled_at - time.monotonic()) > 0:
            waited = True
            await asyncio.sleep(wait)
        return waited

    def _others_relaying(self, connection: _Connection) -> bool:
        return any(
            c is not connection and c.upstream is not None and not (c.kicked or c.ended) for c in self._connections
        )

    # --- one connection ----------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve(reader, writer)
        except Exception as e:  # noqa: BLE001 - a bad connection must never take the relay down
            writer.transport.abort()
            self._publish(Notice(level="error", message=f"attach relay: {type(e).__name__}: {e}"))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peername = writer.get_extra_info("peername")
        raw = str(peername[0]) if peername else ""
        address = parse_peer(raw)
        peer = str(address) if address is not None else display_text(raw, limit=100)
        if self._server is None:  # accepted just before stop(): nobody to serve it
            writer.transport.abort()
            return
        uid = _loopback_uid(writer) if is_local(address) else None
        if address is None or not self._admits(peer, uid):
            writer.transport.abort()
            now = time.time()
            self._publish(AttachClient(time=now, state="refused", peer=peer))
            other = uid if is_local(address) and uid != self._owner else None
            self._publish(AccessRefused(time=now, address=peer, what="attach", detail="attach connection", uid=other))
            return
        target = self._target()
        if target is None:
            writer.transport.abort()
            self._publish(Notice(level="warning", message=f"attach client {peer} turned away: debugpy is not running"))
            return
        connection = _Connection(peer, writer, uid)
        self._connections.add(connection)
        try:
            await self._relay(connection, reader, target)
        finally:
            self._connections.discard(connection)
            connection.kick()

    def _admits(self, peer: str, uid: int | None) -> bool:
        """``allowed(peer)``, and a loopback peer is debugdash's user or granted."""
        try:
            if not self._allowed(peer):
                return False
            return not is_local(parse_peer(peer)) or uid == self._owner or bool(self._granted(peer))
        except Exception:  # noqa: BLE001 - fail closed
            return False

    async def _relay(self, connection: _Connection, reader: asyncio.StreamReader, target: int) -> None:
        if await self._settle_debugpy(connection):
            # The grant may have ended while we waited.
            if connection.kicked or not self._admits(connection.peer, connection.uid):
                return
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", target), _CONNECT_TIMEOUT
            )
        except (OSError, asyncio.TimeoutError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else "no answer"
            self._publish(
                Notice(
                    level="warning",
                    message=f"attach client {connection.peer} turned away: debugpy on port {target}: {reason}",
                )
            )
            return
        connection.upstream = up_writer
        if connection.kicked:  # closed while we were connecting
            return
        self._publish(AttachClient(state="connected", peer=connection.peer))
        try:
            pipes = [
                asyncio.create_task(_forward_messages(connection, reader, up_writer)),
                asyncio.create_task(_pipe(up_reader, connection.client)),
            ]
            try:
                await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            finally:
                connection.ended = True
                self._settle()
                for pipe in pipes:
                    pipe.cancel()
                await asyncio.gather(*pipes, return_exceptions=True)
            if connection.malformed:
                connection.kick()
                self._publish(
                    AccessRefused(address=connection.peer, what="attach", detail=f"{connection.malformed}; connection closed")
                )
            if not connection.kicked:
                # A normal end: let what was already relayed reach the other side.
                for stream in (connection.client, up_writer):
                    stream.close()
                    with contextlib.suppress(OSError, asyncio.TimeoutError):
                        await asyncio.wait_for(stream.wait_closed(), _STOP_TIMEOUT)
        finally:
            self._settle()
            self._publish(AttachClient(state="disconnected", peer=connection.peer))


def _loopback_uid(writer: asyncio.StreamWriter) -> int | None:
    sock = writer.get_extra_info("socket")
    return socket_peer_uid(sock) if sock is not None else None


async def _forward_messages(connection: _Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The IDE's side, read as DAP messages: what is not one ends the connection (and is said)."""
    try:
        while (message := await read_message(reader)) is not None:
            writer.write(frame(message))
            await writer.drain()
    except DapFramingError as e:
        connection.malformed = f"not a DAP message from the IDE: {e}"
    except OSError:
        pass


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()


# --- the port is taken -----------------------------------------------------------


def _bind_failure(host: str, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        holder = _holder(port)
        if holder:
            return f"attach port {port} is already in use by {holder}; stop it or choose another with --attach-port"
        return f"attach port {port} is already in use by another program; choose another with --attach-port"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen for attach on {host}: not an address of this machine; check --host"
    if error.errno == errno.EACCES:
        return f"not allowed to listen on port {port}; choose a port above 1023 with --attach-port"
    return f"cannot listen for attach on {host}:{port} ({error.strerror or error}); choose another --attach-port"


def _holder(port: int) -> str | None:
    """``pid N (command)`` of a process listening on ``port``, if it can be seen."""
    try:
        connections = psutil.net_connections(kind="inet")
    except (psutil.Error, OSError):
        return None
    pids = [c.pid for c in connections if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN]
    pids += [c.pid for c in connections if c.laddr and c.laddr.port == port and not c.raddr]
    for pid in pids:
        if pid is None:
            continue
        try:
            command = " ".join(psutil.Process(pid).cmdline()) or psutil.Process(pid).name()
        except psutil.Error:
            command = "?"
        return f"pid {pid} ({display_text(command, limit=80)})"
    return None
