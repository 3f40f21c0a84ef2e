"""Prompt output from the app without slowing it down.

The server's stdout is a pipe, so Python buffers it in blocks: a developer's
``print()`` in a view would not show until kilobytes piled up. Line buffering
would fix that at the price of one system call per line, which makes an app
that prints a lot several times slower than under ``flask run`` writing to a
file. Instead the block buffer stays, and a thread flushes it ten times a
second: output is on screen within 0.1 s and a flood still moves in blocks.
(stderr, where Werkzeug logs requests, is line-buffered by Python already.)
"""

from __future__ import annotations

import sys
import threading
import time

FLUSH_INTERVAL = 0.1


def start_flusher(interval: float = FLUSH_INTERVAL) -> None:
    def flush_forever() -> None:
        while True:
            time.sleep(interval)
            try:
                sys.stdout.flush()
            except (OSError, ValueError):
                return  # closed: nothing left to show

    threading.Thread(target=flush_forever, name="debugdash-flush", daemon=True).start()
