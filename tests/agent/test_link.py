"""The agent's socket link: handshake, never blocking the sender, failing closed."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from debugdash.agent.link import QUEUE_SIZE, HandshakeError, Link, connect
from debugdash.protocol.events import Log, Notice
from debugdash.protocol.commands import Configure, decode, encode

from tests.agent.agentkit import TestSupervisor, wait_for


def _pair() -> tuple[Link, socket.socket]:
    ours, theirs = socket.socketpair()
    return Link(ours, ours.makefile("rb")), theirs


def _read_all(sock: socket.socket, count: int) -> list:
    reader = sock.makefile("rb")
    return [decode(reader.readline()) for _ in range(count)]


def test_handshake_sends_hello_and_returns_the_configure(supervisor: TestSupervisor) -> None:
    supervisor.configure = Configure(debugger=False, trusted_hosts=["devbox"])
    link, configure = connect(supervisor.path, supervisor.token, "server")
    assert configure == supervisor.configure
    hello = wait_for(lambda: supervisor.connections)[0].hello
    assert (hello.role, hello.token) == ("server", supervisor.token)


def test_handshake_times_out_without_configure(supervisor: TestSupervisor) -> None:
    supervisor.answer_hello = False
    with pytest.raises(HandshakeError, match="did not configure"):
        connect(supervisor.path, supervisor.token, "server", timeout=0.3)


def test_handshake_reports_an_unreachable_socket(tmp_path) -> None:
    with pytest.raises(HandshakeError, match="cannot reach debugdash"):
        connect(str(tmp_path / "missing.sock"), "t", "server")


def test_a_stuck_reader_never_blocks_the_sender_and_drops_are_counted() -> None:
    link, theirs = _pair()
    lost: list[str] = []
    link.start(lambda command: None, lost.append)
    line = "x" * 2000
    # Nobody reads: the socket buffer fills, then the queue, then events are dropped.
    for number in range(QUEUE_SIZE + 5000):
        link.send(Log(stream="stdout", line=f"{number} {line}"))
    assert link.dropped > 0
    reader = theirs.makefile("rb")
    numbers, notices = [], []
    while not notices:
        event = decode(reader.readline())
        if isinstance(event, Notice):
            notices.append(event)
        else:
            numbers.append(int(event.line.split()[0]))
    assert numbers == sorted(numbers) and numbers[0] == 0
    assert f"dropped {link.dropped} events" in notices[0].message
    assert not lost


def test_flush_waits_until_everything_was_written() -> None:
    link, theirs = _pair()
    link.start(lambda command: None, lambda reason: None)
    events = [Log(stream="stderr", line=str(n) * 1000) for n in range(300)]
    received: list = []
    reading = threading.Thread(target=lambda: received.extend(_read_all(theirs, len(events))))
    reading.start()
    for event in events:
        link.send(event)
    assert link.flush(timeout=10)
    reading.join(timeout=10)
    assert received == events


def test_threads_sending_at_once_never_interleave_their_lines() -> None:
    """Request threads of a failing server send together: every line arrives whole, each thread's in order."""
    link, theirs = _pair()
    link.start(lambda command: None, lambda reason: None)
    threads, per_thread = 8, 200  # within QUEUE_SIZE: nothing may be dropped
    received: list = []

    def read_slowly() -> None:
        # Pauses let the socket fill, so lines go out in part, queued and direct by turns.
        reader = theirs.makefile("rb")
        for count in range(threads * per_thread):
            if count % 25 == 0:
                time.sleep(0.002)
            received.append(decode(reader.readline()))

    reading = threading.Thread(target=read_slowly)
    reading.start()

    def send_all(thread: int) -> None:
        for number in range(per_thread):
            # Long lines: the socket takes some only in part, and the rest must go out first.
            link.send(Log(stream="stderr", line=f"{thread} {number} " + "y" * (number * 37 % 9000)))

    senders = [threading.Thread(target=send_all, args=(t,)) for t in range(threads)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    assert link.flush(timeout=20)
    reading.join(timeout=20)
    assert link.dropped == 0 and len(received) == threads * per_thread
    seen: dict[str, list[int]] = {}
    for event in received:
        thread, number, filler = event.line.split(" ")
        assert len(filler) == int(number) * 37 % 9000
        seen.setdefault(thread, []).append(int(number))
    assert all(numbers == list(range(per_thread)) for numbers in seen.values()) and len(seen) == threads


class _SlowSocket:
    """A socket whose first send() stalls until released and then takes half the line."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.in_first_send = threading.Event()
        self.release = threading.Event()
        self.overlapped = False
        self._busy = False
        self._first = True

    def _enter(self) -> None:
        self.overlapped = self.overlapped or self._busy
        self._busy = True

    def send(self, data: bytes, flags: int = 0) -> int:
        self._enter()
        if self._first:
            self._first = False
            self.in_first_send.set()
            self.release.wait(10)
        taken = len(data) // 2
        self.written += data[:taken]
        self._busy = False
        return taken

    def sendall(self, data: bytes) -> None:
        self._enter()
        self.written += data
        self._busy = False


class _SilentReader:
    def readline(self, limit: int = -1) -> bytes:
        threading.Event().wait()  # the supervisor never says anything here
        return b""


def test_a_line_queued_while_another_is_being_written_waits_for_it() -> None:
    sock = _SlowSocket()
    link = Link(sock, _SilentReader())  # type: ignore[arg-type]
    link.start(lambda command: None, lambda reason: None)
    first, second = Log(stream="stderr", line="first " * 50), Log(stream="stderr", line="second")
    writing = threading.Thread(target=link.send, args=(first,))
    writing.start()
    assert sock.in_first_send.wait(10)
    link.send(second)  # queued: the socket is being written by the other thread
    sock.release.set()
    writing.join(10)
    assert link.flush(timeout=10)
    assert not sock.overlapped, "two threads wrote to the socket at once"
    assert bytes(sock.written) == encode(first) + encode(second), "the rest of the first line goes out before the next"


def test_commands_are_applied_and_eof_fails_closed() -> None:
    link, theirs = _pair()
    commands: list = []
    lost: list[str] = []
    link.start(commands.append, lost.append)
    theirs.sendall(b"not json\n" + encode(Configure(debugger=True)))
    wait_for(lambda: commands)
    assert commands == [Configure(debugger=True)]
    theirs.close()
    assert wait_for(lambda: lost) == ["connection closed"]


def test_a_failing_command_does_not_stop_the_reader() -> None:
    link, theirs = _pair()
    applied: list = []
    lost: list[str] = []

    def apply(command) -> None:
        if not applied:
            applied.append("failed")
            raise RuntimeError("bad command")
        applied.append(command)

    link.start(apply, lost.append)
    theirs.sendall(encode(Configure(debugger=True)) + encode(Configure(debugger=False)))
    wait_for(lambda: len(applied) == 2)
    assert applied[1] == Configure(debugger=False)
    theirs.close()
    wait_for(lambda: lost)


def test_a_failed_write_fails_closed_even_while_reading_still_works() -> None:
    # The supervisor stops reading but the socket stays open for commands: only
    # the write can notice, and it must end the link like a lost connection.
    link, theirs = _pair()
    commands: list = []
    lost: list[str] = []
    link.start(commands.append, lost.append)
    theirs.shutdown(socket.SHUT_RD)
    link.send(Log(stream="stdout", line="nobody reads this"))
    [reason] = wait_for(lambda: lost, what="the link failing closed")
    assert reason.startswith("write failed")
    # Later events are dropped, not queued without end.
    link.send(Log(stream="stdout", line="after the failure"))
    assert link.flush(timeout=15)
    theirs.close()
