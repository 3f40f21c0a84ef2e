"""The attach relay against a real TCP echo backend and real clients on loopback.

127.0.0.1 is "local"; 127.0.0.2 and 127.0.0.3 play remote machines by binding
the client socket's source address.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time

import pytest

from debugdash.protocol.addresses import is_local, parse_peer
from debugdash.core.allowlist import Allowlist
from debugdash.core.attach_relay import AttachRelay
from debugdash.core.dap import frame
from debugdash.protocol.clock import ManualClock
from debugdash.core.errors import UserInputError
from debugdash.protocol.events import AccessRefused, AttachClient, AttachListening, Notice


async def wait_until(predicate, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.01)
    return value


class Echo:
    """A real TCP echo server standing in for debugpy."""

    def __init__(self) -> None:
        self.accepted = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Echo:
        self.server = await asyncio.start_server(self._echo, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()
        await self.server.wait_closed()

    @property
    def port(self) -> int:
        return self.server.sockets[0].getsockname()[1]

    async def _echo(self, reader, writer):
        self.accepted += 1
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()


class Events(list):
    def of(self, cls, **fields):
        return [e for e in self if isinstance(e, cls) and all(getattr(e, k) == v for k, v in fields.items())]


@pytest.fixture
async def echo():
    async with Echo() as server:
        yield server


@pytest.fixture
def events():
    return Events()


@pytest.fixture
async def make_relay(events):
    relays = []

    async def make(target, allowed=lambda peer: True, host="127.0.0.1", port=0):
        relay = AttachRelay(host, port, target=target, allowed=allowed, publish=events.append)
        await relay.start()
        relays.append(relay)
        return relay

    yield make
    for relay in relays:
        await relay.stop()


async def connect(relay, source="127.0.0.1", host="127.0.0.1"):
    return await asyncio.open_connection(host, relay.port, local_addr=(source, 0))


#: The relay reads what the IDE sends as DAP messages: the payloads are framed.
HELLO = frame({"seq": 1, "type": "request", "command": "initialize", "arguments": {"adapterID": "debugpy"}})


async def round_trip(reader, writer, payload=HELLO):
    writer.write(payload)
    await writer.drain()
    return await asyncio.wait_for(reader.readexactly(len(payload)), 15)


async def assert_closed_by_peer(reader, timeout=15.0):
    """The relay closed this connection (EOF or reset) and sent no data; ``timeout`` only bounds a hang."""
    try:
        data = await asyncio.wait_for(reader.read(1), timeout)
    except ConnectionResetError:
        return
    assert data == b""


async def test_local_client_is_relayed_both_ways(make_relay, echo, events):
    relay = await make_relay(lambda: echo.port)
    assert relay.port != 0
    assert events.of(AttachListening, host="127.0.0.1", port=relay.port, listening=True)
    reader, writer = await connect(relay)
    assert await round_trip(reader, writer) == HELLO
    big = frame({"seq": 2, "type": "request", "command": "evaluate", "arguments": {"expression": os.urandom(512 * 1024).hex()}})
    assert await round_trip(reader, writer, big) == big
    [(peer, since)] = relay.clients
    assert peer == "127.0.0.1" and abs(since - time.time()) < 60
    assert events.of(AttachClient, state="connected", peer="127.0.0.1")
    writer.close()
    await wait_until(lambda: events.of(AttachClient, state="disconnected", peer="127.0.0.1"))
    assert relay.clients == []


async def test_allowed_remote_client_is_relayed(make_relay, echo, events):
    seen = []
    relay = await make_relay(lambda: echo.port, allowed=lambda peer: seen.append(peer) or peer == "127.0.0.2")
    reader, writer = await connect(relay, source="127.0.0.2")
    assert await round_trip(reader, writer) == HELLO
    assert seen == ["127.0.0.2"]
    assert [p for p, _ in relay.clients] == ["127.0.0.2"]
    writer.close()


async def test_refused_peer_never_reaches_the_backend(make_relay, echo, events):
    relay = await make_relay(lambda: echo.port, allowed=lambda peer: peer == "127.0.0.2")
    reader, writer = await connect(relay, source="127.0.0.3")
    with pytest.raises((ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError)):
        await round_trip(reader, writer)
    await wait_until(lambda: events.of(AccessRefused))
    assert events.of(AttachClient, state="refused", peer="127.0.0.3")
    assert events.of(AccessRefused, address="127.0.0.3", what="attach")
    assert not events.of(AttachClient, state="connected")
    assert echo.accepted == 0
    assert relay.clients == []
    writer.close()


async def test_allowed_failing_counts_as_refusal(make_relay, echo, events):
    def broken(peer):
        raise RuntimeError("boom")

    relay = await make_relay(lambda: echo.port, allowed=broken)
    reader, writer = await connect(relay)
    await assert_closed_by_peer(reader)
    await wait_until(lambda: events.of(AttachClient, state="refused", peer="127.0.0.1"))
    assert echo.accepted == 0
    writer.close()


async def test_grants_decide_with_the_allowlist(make_relay, echo, events):
    clock = ManualClock()
    allowlist = Allowlist(clock)
    allowlist.grant("127.0.0.2", "attach", 900)
    allowlist.grant("127.0.0.3", "debugger", 900)  # debugger only: no attach

    def allowed(peer):
        return is_local(parse_peer(peer)) or allowlist.allows(peer, "attach")

    relay = await make_relay(lambda: echo.port, allowed=allowed)
    r2, w2 = await connect(relay, source="127.0.0.2")
    assert await round_trip(r2, w2) == HELLO
    r3, w3 = await connect(relay, source="127.0.0.3")
    await assert_closed_by_peer(r3)
    await wait_until(lambda: events.of(AccessRefused, address="127.0.0.3", what="attach"))
    r1, w1 = await connect(relay, source="127.0.0.1")
    assert await round_trip(r1, w1) == HELLO

    # The grant runs out: the supervisor closes what is no longer allowed.
    clock.advance(900)
    assert relay.close_where(lambda peer: not allowed(peer)) == 1
    await assert_closed_by_peer(r2)
    await wait_until(lambda: events.of(AttachClient, state="disconnected", peer="127.0.0.2"))
    assert await round_trip(r1, w1) == HELLO
    assert [p for p, _ in relay.clients] == ["127.0.0.1"]
    # ... and a new connection from there is refused.
    r2b, w2b = await connect(relay, source="127.0.0.2")
    await assert_closed_by_peer(r2b)
    for w in (w1, w2, w3, w2b):
        w.close()


async def test_a_grant_that_ends_while_waiting_for_debugpy_is_refused(make_relay, echo, events):
    # A connection that has to wait for debugpy to settle is judged again after
    # the wait: a grant that ran out meanwhile must not reach the debuggee.
    clock = ManualClock()
    allowlist = Allowlist(clock)
    allowlist.grant("127.0.0.2", "attach", 900)
    asked = []

    def allowed(peer):
        decision = is_local(parse_peer(peer)) or allowlist.allows(peer, "attach")
        asked.append((peer, decision))
        if peer == "127.0.0.2":
            clock.advance(900)  # the grant ends right after the first decision
        return decision

    relay = await make_relay(lambda: echo.port, allowed=allowed)
    r1, w1 = await connect(relay)
    assert await round_trip(r1, w1) == HELLO
    assert relay.close_where(lambda peer: True) == 1  # debugpy now needs time to settle
    await assert_closed_by_peer(r1)

    r2, w2 = await connect(relay, source="127.0.0.2")
    await assert_closed_by_peer(r2)
    assert asked[-2:] == [("127.0.0.2", True), ("127.0.0.2", False)], "judged again after the wait"
    assert echo.accepted == 1, "only the local client reached debugpy"
    assert not events.of(AttachClient, state="connected", peer="127.0.0.2")
    for w in (w1, w2):
        w.close()


async def test_close_where_touches_only_matching_peers(make_relay, echo, events):
    relay = await make_relay(lambda: echo.port)
    a = await connect(relay, source="127.0.0.2")
    b = await connect(relay, source="127.0.0.3")
    a2 = await connect(relay, source="127.0.0.2")
    for reader, writer in (a, b, a2):
        assert await round_trip(reader, writer) == HELLO
    assert relay.close_where(lambda peer: peer == "127.0.0.2") == 2
    await assert_closed_by_peer(a[0])
    await assert_closed_by_peer(a2[0])
    assert await round_trip(*b) == HELLO
    assert relay.close_where(lambda peer: peer == "127.0.0.9") == 0
    b[1].close()


async def test_stop_closes_connections_and_frees_the_port(make_relay, echo, events):
    relay = await make_relay(lambda: echo.port)
    port = relay.port
    reader, writer = await connect(relay)
    assert await round_trip(reader, writer) == HELLO
    await relay.stop()
    await assert_closed_by_peer(reader)
    assert events.of(AttachListening, port=port, listening=False)
    assert events.of(AttachClient, state="disconnected", peer="127.0.0.1")
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)
    # The port can be listened on again at once.
    again = AttachRelay("127.0.0.1", port, target=lambda: echo.port, allowed=lambda p: True, publish=events.append)
    await again.start()
    assert again.port == port
    await again.stop()
    await relay.stop()  # a second stop is harmless
    writer.close()


async def test_port_in_use_names_the_holder(events):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        relay = AttachRelay("127.0.0.1", port, target=lambda: None, allowed=lambda p: True, publish=events.append)
        with pytest.raises(UserInputError) as caught:
            await relay.start()
    finally:
        holder.close()
    message = str(caught.value)
    assert f"pid {os.getpid()}" in message
    assert str(port) in message and "--attach-port" in message
    assert "\n" not in message
    assert not events.of(AttachListening)


async def test_no_debugpy_yet_turns_the_client_away(make_relay, events):
    relay = await make_relay(lambda: None)
    reader, writer = await connect(relay)
    await assert_closed_by_peer(reader)
    await wait_until(lambda: events.of(Notice))
    assert "debugpy is not running" in events.of(Notice)[0].message
    writer.close()


async def test_debugpy_refusing_turns_the_client_away(make_relay, events):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    relay = await make_relay(lambda: dead_port)
    reader, writer = await connect(relay)
    await assert_closed_by_peer(reader)
    await wait_until(lambda: events.of(Notice))
    assert str(dead_port) in events.of(Notice)[0].message
    assert not events.of(AttachClient, state="connected")
    writer.close()


async def test_backend_closing_disconnects_the_client(make_relay, events):
    async def one_reply(reader, writer):
        writer.write(b"bye")
        await writer.drain()
        writer.close()

    backend = await asyncio.start_server(one_reply, "127.0.0.1", 0)
    try:
        relay = await make_relay(lambda: backend.sockets[0].getsockname()[1])
        reader, writer = await connect(relay)
        assert await asyncio.wait_for(reader.read(), 5) == b"bye"
        await wait_until(lambda: events.of(AttachClient, state="disconnected"))
        writer.close()
    finally:
        backend.close()
        await backend.wait_closed()


def _free_port() -> int:
    """A port free on every IPv4 and IPv6 address (the relay below binds them all)."""
    while True:
        with socket.socket(socket.AF_INET6) as v6, socket.socket() as v4:
            v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            v6.bind(("::", 0))
            port = v6.getsockname()[1]
            try:
                v4.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port


async def test_all_interfaces_relay_judges_ipv4_and_ipv6_peers(make_relay, echo, events):
    seen = []
    relay = await make_relay(lambda: echo.port, allowed=lambda peer: seen.append(peer) or True, host="", port=_free_port())
    reader, writer = await connect(relay, source="127.0.0.2", host="127.0.0.1")
    assert await round_trip(reader, writer) == HELLO
    r6, w6 = await connect(relay, source="::1", host="::1")
    assert await round_trip(r6, w6) == HELLO
    # (allowed is asked again when a connection had to wait for debugpy to settle)
    assert list(dict.fromkeys(seen)) == ["127.0.0.2", "::1"]
    writer.close()
    w6.close()


async def test_a_refused_connection_is_one_audit_line(echo, tmp_path):
    from debugdash.core.audit import AuditLog

    audit = AuditLog(tmp_path / "debugdash" / "audit.log")
    relay = AttachRelay(
        "127.0.0.1", 0, target=lambda: echo.port, allowed=lambda peer: peer == "127.0.0.2", publish=audit.record
    )
    await relay.start()
    try:
        reader, writer = await connect(relay, source="127.0.0.3")
        await assert_closed_by_peer(reader)
        writer.close()
        ok_reader, ok_writer = await connect(relay, source="127.0.0.2")
        assert await round_trip(ok_reader, ok_writer) == HELLO
        ok_writer.close()
        await wait_until(lambda: audit.path.exists())
    finally:
        await relay.stop()
    [line] = audit.path.read_text().splitlines()
    assert line.split("\t")[2:5] == ["refuse", "127.0.0.3", "attach"]
