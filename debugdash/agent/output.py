"""Prompt output from the app without slowing it down.

The server's stdout and stderr are pipes to debugdash.

stdout: Python block-buffers it there, so a developer's ``print()`` would not
show until kilobytes piled up; line buffering would cost a system call per line
and make a printing app several times slower than under ``flask run`` writing
to a file. The block buffer stays, and a thread flushes it ten times a second.
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

FLUSH_INTERVAL = 0.1
#: During a burst, stderr is written at most this often.
QUIET = 0.02
BUFFER_SIZE = 64 * 1024


class _BurstBuffer(io.BufferedWriter):
    """A BufferedWriter whose ``flush()`` is put off during a burst of flushes."""

    def __init__(self, raw: io.RawIOBase, size: int, due: threading.Event) -> None:
        super().__init__(raw, size)
        self._due = due
        self._written_at = 0.0

    def flush(self) -> None:
        now = time.monotonic()
        if now - self._written_at >= QUIET:
            self._written_at = now
            io.BufferedWriter.flush(self)
        elif not self._due.is_set():
            self._due.set()

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


def _burst_buffered(stream: object, due: threading.Event) -> io.TextIOWrapper | None:
    """A twin of a standard text stream over a _BurstBuffer, or None when it is not a plain fd stream."""
    try:
        fd = stream.fileno()  # type: ignore[attr-defined]
        stream.flush()  # type: ignore[attr-defined]
        buffer = _BurstBuffer(io.FileIO(fd, "wb", closefd=False), BUFFER_SIZE, due)
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


def start_flusher(interval: float = FLUSH_INTERVAL) -> None:
    """Flush stdout every ``interval`` seconds, and stderr at most ``QUIET`` seconds after a put-off flush."""
    due = threading.Event()
    replacement = _burst_buffered(sys.stderr, due)
    if replacement is not None:
        sys.stderr = replacement
    stdout = _block_buffered(sys.stdout)
    if stdout is not None:
        sys.stdout = stdout
    atexit.register(flush_all)

    def flush_forever() -> None:
        next_stdout = time.monotonic() + interval
        while True:
            if due.wait(max(0.0, next_stdout - time.monotonic())):
                time.sleep(QUIET)
                due.clear()
                buffer = getattr(sys.stderr, "buffer", None)
                if isinstance(buffer, _BurstBuffer):
                    try:
                        buffer.flush_put_off()
                    except (OSError, ValueError):
                        pass
            if time.monotonic() >= next_stdout:
                next_stdout = time.monotonic() + interval
            flush_all()

    threading.Thread(target=flush_forever, name="debugdash-flush", daemon=True).start()
