"""Prompt output from the app without slowing it down.

The server's stdout and stderr are pipes to debugdash. Python block-buffers
stdout there, so a developer's ``print()`` would not show until kilobytes
piled up; stderr is line-buffered, and logging flushes after every record, so
every request's access-log line is one system call in the server and one
wake-up of debugdash. Instead both streams get a block buffer whose ``flush()``
is deferred, and a thread writes them out ten times a second: output is on
screen within 0.1 s, a flood or a burst of request logs moves in blocks, and
nothing is lost at a normal exit (the buffers are written at exit and on close).
"""

from __future__ import annotations

import atexit
import io
import sys
import threading
import time

FLUSH_INTERVAL = 0.1
BUFFER_SIZE = 64 * 1024


class _DeferredBuffer(io.BufferedWriter):
    """A BufferedWriter whose ``flush()`` only asks for the next periodic write."""

    def flush(self) -> None:
        pass

    def flush_now(self) -> None:
        io.BufferedWriter.flush(self)

    def close(self) -> None:
        if not self.closed:
            try:
                self.flush_now()
            finally:
                io.BufferedWriter.close(self)


def _deferred(stream: object) -> io.TextIOWrapper | None:
    """A block-buffered twin of a standard stream, or None when it is not a plain fd stream."""
    try:
        fd = stream.fileno()  # type: ignore[attr-defined]
        stream.flush()  # type: ignore[attr-defined]
        buffer = _DeferredBuffer(io.FileIO(fd, "wb", closefd=False), BUFFER_SIZE)
        return io.TextIOWrapper(
            buffer,
            encoding=stream.encoding,  # type: ignore[attr-defined]
            errors=stream.errors,  # type: ignore[attr-defined]
            newline=None,
            line_buffering=False,
        )
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


def flush_all() -> None:
    """Write out whatever the app has written to stdout and stderr so far; never raises."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is None:
                continue
            stream.flush()  # moves the text layer's pending text into the buffer
            buffer = getattr(stream, "buffer", None)
            if isinstance(buffer, _DeferredBuffer):
                buffer.flush_now()
        except (OSError, ValueError):
            pass


def start_flusher(interval: float = FLUSH_INTERVAL) -> None:
    """Give stdout and stderr deferred flushing, and write them out every ``interval`` seconds."""
    for name in ("stdout", "stderr"):
        replacement = _deferred(getattr(sys, name))
        if replacement is not None:
            setattr(sys, name, replacement)
    atexit.register(flush_all)

    def flush_forever() -> None:
        while True:
            time.sleep(interval)
            flush_all()

    threading.Thread(target=flush_forever, name="debugdash-flush", daemon=True).start()
