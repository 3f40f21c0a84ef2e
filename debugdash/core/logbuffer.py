"""The server's output: read as bytes, split into bounded lines, kept in a ring.

The supervisor must drain the child's pipes as fast as the app writes, or the
app blocks on a full pipe. So the hot path only splits bytes into lines and
keeps the newest ones; decoding and stripping control sequences happens when a
line is first looked at (``since``), which for a flood is a small fraction of
the lines written.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from debugdash.core.text import display_text

#: Lines kept for display; older ones are counted, not stored.
DEFAULT_CAPACITY = 10_000
#: Bytes of one line kept while it is still being read; the rest is counted.
MAX_LINE_BYTES = 64 * 1024


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
        if any(len(line) > self.max_line for line in middle):
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

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._raw: deque[tuple[int, str, bytes]] = deque(maxlen=capacity)
        self._decoded: dict[int, LogLine] = {}
        self.last_seq = 0
        self._listeners: list[Callable[[], None]] = []

    def append(self, stream: str, lines: list[bytes]) -> None:
        """Add lines (without their newlines); tell listeners once for the batch."""
        if not lines:
            return
        if len(lines) > self.capacity:
            self.last_seq += len(lines) - self.capacity
            lines = lines[-self.capacity :]
        first = self.last_seq + 1
        self._raw.extend((first + i, stream, line) for i, line in enumerate(lines))
        self.last_seq += len(lines)
        if len(self._decoded) > self.capacity:
            oldest = self._raw[0][0]
            self._decoded = {seq: line for seq, line in self._decoded.items() if seq >= oldest}
        for listener in list(self._listeners):
            listener()

    def since(self, seq: int, limit: int | None = None) -> list[LogLine]:
        """Lines with a sequence number above ``seq``, oldest first (at most ``limit``, the newest)."""
        if seq >= self.last_seq or not self._raw:
            return []
        count = min(self.last_seq - seq, len(self._raw))
        if limit is not None:
            count = min(count, limit)
        start = len(self._raw) - count
        return [self._line(self._raw[i]) for i in range(start, len(self._raw))]

    def tail(self, count: int) -> list[LogLine]:
        return self.since(max(self.last_seq - count, 0))

    def _line(self, raw: tuple[int, str, bytes]) -> LogLine:
        seq, stream, data = raw
        line = self._decoded.get(seq)
        if line is None:
            line = self._decoded[seq] = LogLine(seq, stream, display_text(data))
        return line

    def listen(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` after each batch of new lines; returns the unsubscribe function."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None
