"""The agent's end of the supervisor socket (see ``debugdash.protocol.commands``).

Sending never stalls the caller: an event is written at once when the socket
takes it without blocking, else it goes into a bounded queue that a writer
thread drains; when the queue is full the event is dropped and counted. A reader
thread hands every command to a callback. When the connection is lost, in either
thread, ``on_lost`` runs once: the caller closes its gates and ends the process.
"""

from __future__ import annotations

import collections
import json
import os
import socket
import threading
import time
from collections.abc import Callable

from debugdash.agent.encoding import encode_message
from debugdash.protocol.events import Event, EventFormatError, Notice, Reply
from debugdash.protocol.commands import MAX_LINE, Command, Configure, Hello, decode, encode

QUEUE_SIZE = 2000
HANDSHAKE_TIMEOUT = 10.0


class HandshakeError(Exception):
    """The supervisor could not be reached or did not answer ``hello`` in time."""


class Link:
    def __init__(self, sock: socket.socket, reader) -> None:
        self._sock = sock
        self._reader = reader
        # Encoded lines waiting for the writer thread; bounded, oldest kept.
        self._pending: collections.deque[bytes] = collections.deque()
        self._writing = False
        self._closed = False
        # A plain lock: never taken twice by one thread, and cheaper than the default RLock.
        self._cond = threading.Condition(threading.Lock())
        self._lost_once = threading.Lock()
        self._on_lost: Callable[[str], None] = lambda reason: None
        self.dropped = 0
        self._reported_drops = 0

    # --- sending ------------------------------------------------------------

    def send(self, event: Event) -> None:
        """Send an event without ever blocking the caller.

        The line is written at once when the socket takes it whole and nothing
        is queued before it (the common case: no thread hand-off on a request's
        error path); otherwise it is queued for the writer thread. When the
        queue is full the event is dropped and counted.

        The socket is claimed under the lock but written outside it: the write
        gives up the GIL, and other request threads sending meanwhile queue
        their lines instead of waiting for the lock.
        """
        try:
            data = encode_message(event)
        except (TypeError, ValueError):
            return  # an event that cannot be encoded is dropped, not fatal
        with self._cond:
            if self._closed:
                return
            if self._pending or self._writing:
                if len(self._pending) >= QUEUE_SIZE:
                    self.dropped += 1
                    return
                self._pending.append(data)
                self._cond.notify_all()
                return
            self._writing = True
        try:
            sent = self._sock.send(data, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            sent = 0  # the writer thread meets the same error and fails closed
        with self._cond:
            self._writing = False
            if sent < len(data):
                # A partial line must go out before anything else: it jumps any limit.
                self._pending.appendleft(data[sent:])
            # The writer thread (lines queued meanwhile) or a flush() may be waiting for the socket.
            self._cond.notify_all()

    def flush(self, timeout: float = 2.0) -> bool:
        """Wait until every queued event was written; False when the timeout ran out."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while (self._pending or self._writing) and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending or self._writing:  # a sender may hold the socket
                    self._cond.wait()
                chunks = list(self._pending)
                self._pending.clear()
                if self.dropped != self._reported_drops:
                    count = self.dropped - self._reported_drops
                    self._reported_drops = self.dropped
                    notice = Notice(level="warning", message=f"the agent dropped {count} events (queue full)")
                    chunks.append(encode(notice))
                self._writing = True
            try:
                self._sock.sendall(b"".join(chunks))
            except OSError as e:
                with self._cond:
                    self._closed = True
                    self._writing = False
                    self._cond.notify_all()
                self._lost(f"write failed: {e}")
                return
            with self._cond:
                self._writing = False
                self._cond.notify_all()

    # --- receiving ----------------------------------------------------------

    def _read_loop(self, on_command: Callable[[Command], None]) -> None:
        while True:
            try:
                line = self._reader.readline(MAX_LINE)
            except (OSError, ValueError) as e:
                self._lost(f"read failed: {e}")
                return
            if not line:
                self._lost("connection closed")
                return
            try:
                message = decode(line)
            except EventFormatError:
                self._refuse_unknown_query(line)
                continue
            if isinstance(message, Command):
                try:
                    on_command(message)
                except Exception as e:
                    # This thread must live on: it is the one that notices a lost supervisor.
                    _warn(f"debugdash.agent: could not apply {message.name}: {e!r}")

    def _refuse_unknown_query(self, line: bytes) -> None:
        """A query this agent does not know (a newer supervisor) still gets an answer, not a wait."""
        try:
            data = json.loads(line)
        except ValueError:
            return
        if isinstance(data, dict) and isinstance(data.get("qid"), int) and isinstance(data.get("cmd"), str):
            self.send(Reply(qid=data["qid"], ok=False, error=f"this server's agent does not answer {data['cmd']!r}"))

    def start(self, on_command: Callable[[Command], None], on_lost: Callable[[str], None]) -> None:
        """Start the reader and writer threads (daemons: they never keep the process alive)."""
        self._on_lost = on_lost
        threading.Thread(target=self._write_loop, name="debugdash-agent-writer", daemon=True).start()
        threading.Thread(
            target=self._read_loop, args=(on_command,), name="debugdash-agent-reader", daemon=True
        ).start()

    def _lost(self, reason: str) -> None:
        if self._lost_once.acquire(blocking=False):
            self._on_lost(reason)


def _warn(text: str) -> None:
    try:
        os.write(2, text.encode("utf-8", "replace") + b"\n")
    except OSError:
        pass


def connect(path: str, token: str, role: str, timeout: float = HANDSHAKE_TIMEOUT) -> tuple[Link, Configure]:
    """Connect, say hello and block until the supervisor's ``configure`` arrives.

    Raises HandshakeError when the socket cannot be reached, closes, or stays
    silent for ``timeout`` seconds.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        sock.connect(path)
        sock.sendall(encode(Hello(token=token, pid=os.getpid(), role=role)))
        reader = sock.makefile("rb")
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            line = reader.readline(MAX_LINE)
            if not line:
                raise HandshakeError("debugdash closed the agent connection before configuring it")
            try:
                message = decode(line)
            except EventFormatError:
                continue
            if isinstance(message, Configure):
                break
    except TimeoutError:
        sock.close()
        raise HandshakeError(f"debugdash did not configure the agent within {timeout:g} s") from None
    except OSError as e:
        sock.close()
        raise HandshakeError(f"cannot reach debugdash at {path}: {e.strerror or e}") from None
    sock.settimeout(None)
    return Link(sock, reader), message
