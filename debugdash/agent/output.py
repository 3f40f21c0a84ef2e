"""Prompt output from the app without slowing it down.

The server's stdout and stderr are pipes to debugdash.

stdout: Python block-buffers it there, so a developer's ``print()`` would not
show until kilobytes piled up; line buffering would cost a system call per line
and make a printing app several times slower than under ``flask run`` writing
to a file. The block buffer stays, and a thread flushes it ``FLUSH_INTERVAL``
after the first write that follows a flush. That thread sleeps while the app is
quiet (an idle worker must not wake ten times a second): the stream's ``write``
(and its buffer's) is shadowed, on the instance, by a one-shot function that
takes itself away, tells the thread, and writes; after flushing, the thread puts
it back. So a write costs nothing extra but the first one of each interval.
Under ``PYTHONUNBUFFERED`` (or ``-u``), set for promptness, which the thread
already gives, there is no block buffer: each ``print()`` would be a system
call and a wake-up of debugdash (a million printed lines: 0.67 s of the app's
CPU instead of 0.36 s, and as many small reads for debugdash), so stdout gets
a block-buffered twin too.

stderr: Python line-buffers it and logging flushes after every record, so each
request's access-log line would be one system call here and one wake-up of
debugdash. Its ``flush()`` therefore writes at once only when nothing was
flushed in the last ``QUIET`` seconds (a lone message, or the last words before
a crash, go out immediately); during a burst the rest follows within ``QUIET``,
in one write.
"""

from __future__ import annotations

import atexit
import io
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

FLUSH_INTERVAL = 0.1
#: During a burst, stderr is written at most this often: the pace at which request records go
#: out too (``requests.INTERVAL``). Each write wakes debugdash's pipe reader and event loop; at
#: 20 ms, a server answering 1,000 requests a second cost the supervisor 27 µs and this
#: process's flusher 8 µs per request, at 50 ms 20 and 3 (per-thread CPU, 8,000 requests).
QUIET = 0.05
BUFFER_SIZE = 64 * 1024


class _BurstBuffer(io.BufferedWriter):
    """A BufferedWriter whose ``flush()`` is put off during a burst of flushes."""

    def __init__(self, raw: io.RawIOBase, size: int, put_off: Callable[[], None]) -> None:
        super().__init__(raw, size)
        self._put_off = put_off
        self._written_at = 0.0

    def flush(self) -> None:
        now = time.monotonic()
        if now - self._written_at >= QUIET:
            self._written_at = now
            io.BufferedWriter.flush(self)
        else:
            self._put_off()

    def flush_now(self) -> None:
        # Not counted as a write: the periodic flush must not delay a lone message.
        io.BufferedWriter.flush(self)

    def flush_put_off(self) -> None:
        """The flush a burst put off, written now and counted: the burst's next line waits for the
        next one instead of going out alone (one write per ``QUIET`` during a burst, not two)."""
        self._written_at = time.monotonic()
        io.BufferedWriter.flush(self)

    def close(self) -> None:
        if not self.closed:
            try:
                self.flush_now()
            finally:
                io.BufferedWriter.close(self)


def _burst_buffered(stream: object, put_off: Callable[[], None]) -> io.TextIOWrapper | None:
    """A twin of a standard text stream over a _BurstBuffer, or None when it is not a plain fd stream."""
    try:
        fd = stream.fileno()  # type: ignore[attr-defined]
        stream.flush()  # type: ignore[attr-defined]
        buffer = _BurstBuffer(io.FileIO(fd, "wb", closefd=False), BUFFER_SIZE, put_off)
        return io.TextIOWrapper(
            buffer,
            encoding=stream.encoding,  # type: ignore[attr-defined]
            errors=stream.errors,  # type: ignore[attr-defined]
            line_buffering=False,
            write_through=True,  # text goes straight to the buffer: only the buffer needs flushing
        )
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


def _block_buffered(stream: object) -> io.TextIOWrapper | None:
    """A block-buffered twin of an unbuffered text stream; None when it has a buffer already."""
    if isinstance(getattr(stream, "buffer", None), io.BufferedWriter):
        return None
    try:
        fd = stream.fileno()  # type: ignore[attr-defined]
        stream.flush()  # type: ignore[attr-defined]
        return io.TextIOWrapper(
            io.BufferedWriter(io.FileIO(fd, "wb", closefd=False), BUFFER_SIZE),
            encoding=stream.encoding,  # type: ignore[attr-defined]
            errors=stream.errors,  # type: ignore[attr-defined]
            line_buffering=False,  # and not write-through: the text layer's own buffer is the cheap one in a flood
        )
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


def flush_all() -> None:
    """Write out whatever the app has written to stdout and stderr so far; never raises."""
    for stream in (sys.stdout, sys.stderr):
        try:
            buffer = getattr(stream, "buffer", None)
            if isinstance(buffer, _BurstBuffer):
                buffer.flush_now()
            elif stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass


class _Flusher:
    """The thread that flushes stdout ``interval`` after a write, and stderr ``QUIET`` after a put-off flush."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._cond = threading.Condition()
        self._due: float | None = None  # when the next flush must happen; None: nothing waits
        self._armed: list[object] = []  # the stream objects whose write is shadowed now
        self._burst = False  # stderr put off a flush since the last one

    def written(self) -> None:
        """stdout or stderr got its first write since the last flush."""
        self._at(self._interval)

    def put_off(self) -> None:
        """stderr put off a flush (a burst): write it out a little later."""
        self._burst = True
        self._at(QUIET)

    def _at(self, delay: float) -> None:
        due = time.monotonic() + delay
        current = self._due  # a plain read: a burst pays for the lock once
        if current is not None and current <= due:
            return
        with self._cond:
            if self._due is None or due < self._due:
                self._due = due
                self._cond.notify()

    def arm(self) -> None:
        """Shadow ``write`` of the current stdout, of its buffer, and of stderr until their next call."""
        # stderr too: a write without a flush (Werkzeug's debugger writes each traceback
        # to wsgi.errors so) stays in its buffer until someone flushes it.
        targets = [sys.stdout, getattr(sys.stdout, "buffer", None), sys.stderr]
        armed = []
        for target in targets:
            # Only the standard classes: their C ``write`` is found after the instance's dict.
            if type(target) not in (io.TextIOWrapper, io.BufferedWriter):
                continue
            armed.append(target)
            if "write" not in target.__dict__:
                target.write = self._one_shot(target)  # type: ignore[union-attr]
        self._armed = armed

    def _one_shot(self, target: object) -> Callable[[Any], int]:
        flusher = self

        def write(data: Any) -> int:
            target.__dict__.pop("write", None)
            flusher.written()
            return type(target).write(target, data)  # type: ignore[attr-defined]

        return write

    def run(self) -> None:
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    if self._due is not None and self._due <= now:
                        break
                    # Asleep until a write; now and then a look whether the app put another stdout in place.
                    self._cond.wait(BACKSTOP if self._due is None else self._due - now)
                    if self._due is None and not (sys.stdout in self._armed and sys.stderr in self._armed):
                        break
                self._due = None
            # Armed before flushing: a write from now on wakes us again, an earlier one is in this flush.
            self.arm()
            if self._burst:
                self._burst = False
                buffer = getattr(sys.stderr, "buffer", None)
                if isinstance(buffer, _BurstBuffer):
                    try:
                        buffer.flush_put_off()
                    except (OSError, ValueError):
                        pass
            flush_all()


#: Seconds between looks at whether ``sys.stdout`` or ``sys.stderr`` was replaced (its writes would not wake the flusher).
BACKSTOP = 5.0


def start_flusher(interval: float = FLUSH_INTERVAL) -> None:
    """Flush stdout ``interval`` seconds after it is written to, and stderr at most ``QUIET`` seconds after a put-off flush."""
    flusher = _Flusher(interval)
    replacement = _burst_buffered(sys.stderr, flusher.put_off)
    if replacement is not None:
        sys.stderr = replacement
    stdout = _block_buffered(sys.stdout)
    if stdout is not None:
        sys.stdout = stdout
    atexit.register(flush_all)
    flusher.arm()
    threading.Thread(target=flusher.run, name="debugdash-flush", daemon=True).start()
