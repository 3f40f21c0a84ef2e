"""A server's output pipe, drained on a thread of its own.

An app that prints blocks as soon as its pipe is full, and a 1 MiB pipe fills
in ~5 ms of a flood. Read on the event loop, every frame the dashboard draws
(tens of milliseconds while tabs switch) stalls the app that long. Here a
thread reads whatever the pipe holds, with the GIL released in ``read``, and
queues it for the loop; the loop splits and stores it when it gets to it. The
queue is bounded: past ``limit`` bytes not yet taken, the thread stops reading
and the app waits on its pipe as before, so a stuck loop cannot cost unbounded
memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import threading
from collections import deque

#: Bytes read but not yet taken by the loop, at most.
DEFAULT_LIMIT = 64 * 1024 * 1024
#: Bytes asked for per read: what the loop splits and stores in one go
#: (each chunk's lines reach every listener, however far behind it is).
READ_SIZE = 256 * 1024


class PipeReader:
    """``await read()`` gives what the pipe ``fd`` (now ours) delivered since, ``b""`` at its end."""

    def __init__(self, fd: int, *, limit: int = DEFAULT_LIMIT) -> None:
        self._fd = fd
        self._limit = limit
        self._loop = asyncio.get_running_loop()
        self._chunks: deque[bytes] = deque()
        self._queued = 0
        self._ended = False
        self._closed = False  # the thread closed the descriptors: their numbers may be anyone's now
        self._lock = threading.Condition()
        self._waiter: asyncio.Future[None] | None = None
        # Closing wakes the thread out of poll(): closing ``fd`` under a blocked read could hit a reused number.
        self._stop_r, self._stop_w = os.pipe()
        threading.Thread(target=self._drain, name=f"debugdash-output-{fd}", daemon=True).start()

    async def read(self) -> bytes:
        """The oldest chunk read (at most ``READ_SIZE``), or ``b""`` once the pipe ended."""
        while True:
            with self._lock:
                if self._chunks:
                    data = self._chunks.popleft()
                    self._queued -= len(data)
                    self._lock.notify()
                    return data
                if self._ended:
                    return b""
                self._waiter = self._loop.create_future()
                waiter = self._waiter
            try:
                await waiter
            finally:
                self._waiter = None

    def close(self) -> None:
        """Stop reading (output after this is not wanted); the thread closes the pipe."""
        with self._lock:
            self._ended = True
            self._lock.notify()
            if not self._closed:
                with contextlib.suppress(OSError):
                    os.write(self._stop_w, b"x")

    def _drain(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        poller.register(self._stop_r, select.POLLIN)
        # One buffer for every read, and a copy of what arrived: ``os.read`` of READ_SIZE
        # allocates a fresh 256 KiB block each time (an mmap, an mremap to shrink it, a
        # munmap when taken, and a page fault per page the kernel fills), which under
        # request load is ~50 reads a second of a few KiB each.
        buffer = bytearray(READ_SIZE)
        view = memoryview(buffer)
        try:
            while True:
                with self._lock:
                    while self._queued >= self._limit and not self._ended:
                        self._lock.wait()
                    if self._ended:
                        return
                if any(fd == self._stop_r for fd, _ in poller.poll()):
                    return
                try:
                    size = os.readv(self._fd, (buffer,))
                except BlockingIOError:
                    continue
                except OSError:
                    size = 0
                if not size:
                    return
                data = bytes(view[:size])
                with self._lock:
                    self._chunks.append(data)
                    self._queued += len(data)
                    waiting = self._waiter is not None
                if waiting:
                    self._wake()
        finally:
            with self._lock:
                self._ended = True
                self._closed = True
                for fd in (self._fd, self._stop_r, self._stop_w):
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting any more
            self._loop.call_soon_threadsafe(self._set_waiter)

    def _set_waiter(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
