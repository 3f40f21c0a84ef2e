"""The server's output: read as bytes, split into bounded lines, kept in a ring.

The supervisor must drain the child's pipes as fast as the app writes, or the
app blocks on a full pipe. So the hot path only splits bytes into lines and
keeps them in the batches they arrived in; decoding and stripping control
sequences happens when lines are looked at (``since``), a batch at a time, and
for a flood only the newest lines are ever looked at by the dashboard.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from debugdash.protocol.text import display_lines

#: Lines kept for display; older ones are counted, not stored.
DEFAULT_CAPACITY = 10_000
#: Bytes kept at most, whatever the line count (10,000 long lines would be 640 MB).
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
#: Bytes of one line kept while it is still being read; the rest is counted.
MAX_LINE_BYTES = 64 * 1024

#: (sequence number of the first line, stream, the lines)
Batch = tuple[int, str, list[bytes]]


@dataclass(frozen=True, slots=True)
class LogLine:
    seq: int  # 1 for the first line ever written, increasing by one per line
    stream: str  # "stdout" or "stderr"
    text: str  # safe display text


class LineSplitter:
    """Turns a stream of byte chunks into lines of at most MAX_LINE_BYTES.

    A line longer than that keeps its head and a note of how much was cut, so
    a 10 MB line costs 64 KiB, not 10 MB.
    """

    def __init__(self, max_line: int = MAX_LINE_BYTES) -> None:
        self.max_line = max_line
        self._partial = bytearray()
        self._dropped = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        parts = chunk.split(b"\n")
        if len(parts) == 1:
            self._add_partial(parts[0])
            return []
        self._add_partial(parts[0])
        lines = [self._take_partial()]
        middle = parts[1:-1]
        if middle and max(map(len, middle)) > self.max_line:
            middle = [self._cut(line, len(line) - self.max_line) if len(line) > self.max_line else line for line in middle]
        lines.extend(middle)
        self._add_partial(parts[-1])
        return lines

    def flush(self) -> list[bytes]:
        """The unterminated last line, if any (at end of stream)."""
        if not self._partial and not self._dropped:
            return []
        return [self._take_partial()]

    def _add_partial(self, data: bytes) -> None:
        room = self.max_line - len(self._partial)
        if len(data) > room:
            self._dropped += len(data) - max(room, 0)
            data = data[: max(room, 0)]
        self._partial += data

    def _take_partial(self) -> bytes:
        line = bytes(self._partial)
        if self._dropped:
            line = self._cut(line, self._dropped)
        self._partial.clear()
        self._dropped = 0
        return line

    def _cut(self, line: bytes, dropped: int) -> bytes:
        return line[: self.max_line] + f" … [{dropped} more bytes]".encode()


class LogBuffer:
    """The newest lines of output, with sequence numbers, and who to tell about them."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        self._batches: deque[tuple[int, str, list[bytes], int]] = deque()
        self._lines = 0
        self._bytes = 0
        self.last_seq = 0
        self._listeners: list[Callable[[], None]] = []

    def append(self, stream: str, lines: list[bytes]) -> None:
        """Add lines (without their newlines); tell listeners once for the batch."""
        if not lines:
            return
        if len(lines) > self.capacity:
            self.last_seq += len(lines) - self.capacity
            lines = lines[-self.capacity :]
        size = sum(map(len, lines))
        self._batches.append((self.last_seq + 1, stream, lines, size))
        self.last_seq += len(lines)
        self._lines += len(lines)
        self._bytes += size
        # Whole batches leave, oldest first; the newest always stays.
        while len(self._batches) > 1 and (
            self._lines - len(self._batches[0][2]) >= self.capacity or self._bytes > self.max_bytes
        ):
            _, _, dropped, dropped_size = self._batches.popleft()
            self._lines -= len(dropped)
            self._bytes -= dropped_size
        for listener in list(self._listeners):
            listener()

    def batches_since(self, seq: int, limit: int | None = None) -> list[Batch]:
        """The stored lines numbered above ``seq`` (at most the newest ``limit``), as batches, oldest first."""
        low = seq if limit is None else max(seq, self.last_seq - limit)
        found: list[Batch] = []
        for first, stream, lines, _ in reversed(self._batches):
            if first + len(lines) - 1 <= low:
                break
            if first <= low:
                lines = lines[low - first + 1 :]
                first = low + 1
            found.append((first, stream, lines))
        found.reverse()
        return found

    def since(self, seq: int, limit: int | None = None) -> list[LogLine]:
        """Lines numbered above ``seq`` (at most the newest ``limit``), oldest first, as safe text."""
        result: list[LogLine] = []
        for first, stream, lines in self.batches_since(seq, limit):
            result.extend(LogLine(first + i, stream, text) for i, text in enumerate(display_lines(lines)))
        return result

    def tail(self, count: int) -> list[LogLine]:
        return self.since(max(self.last_seq - count, 0))

    def listen(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` after each batch of new lines; returns the unsubscribe function."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None
