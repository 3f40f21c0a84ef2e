"""The agent's end of the supervisor socket (see ``debugdash.core.wire``).

Sending never stalls the caller: events go into a bounded queue that a writer
thread drains; when the queue is full the event is dropped and counted. A reader
thread hands every command to a callback. When the connection is lost, in either
thread, ``on_lost`` runs once: the caller closes its gates and ends the process.
"""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
from collections.abc import Callable

from debugdash.core.events import Event, EventFormatError, Notice
from debugdash.core.wire import MAX_LINE, Command, Configure, Hello, decode, encode

QUEUE_SIZE = 2000
HANDSHAKE_TIMEOUT = 10.0


class HandshakeError(Exception):
    """The supervisor could not be reached or did not answer ``hello`` in time."""


class Link:
    def __init__(self, sock: socket.socket, reader) -> None:
        self._sock = sock
        self._reader = reader
        self._queue: queue.Queue[Event] = queue.Queue(QUEUE_SIZE)
        self._lost_once = threading.Lock()
        self._on_lost: Callable[[str], None] = lambda reason: None
        self.dropped = 0

    # --- sending ------------------------------------------------------------

    def send(self, event: Event) -> None:
        """Queue an event for the supervisor; drops it (and counts) when the queue is full."""
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1

    def flush(self, timeout: float = 2.0) -> bool:
        """Wait until every queued event was written; False when the timeout ran out."""
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True

    def _write_loop(self) -> None:
        reported_drops = 0
        while True:
            event = self._queue.get()
            try:
                try:
                    data = encode(event)
                except (TypeError, ValueError):
                    continue  # an event that cannot be encoded is dropped, not fatal
                self._sock.sendall(data)
                if self.dropped != reported_drops and self._queue.empty():
                    count, reported_drops = self.dropped - reported_drops, self.dropped
                    notice = Notice(level="warning", message=f"the agent dropped {count} events (queue full)")
                    self._sock.sendall(encode(notice))
            except OSError as e:
                self._lost(f"write failed: {e}")
                return
            finally:
                self._queue.task_done()

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
                continue
            if isinstance(message, Command):
                on_command(message)

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
