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

from debugdash.core.callbacks import in_subscribers_context
from debugdash.protocol.text import display_lines, has_line_over

#: Lines kept for display; older ones are counted, not stored.
DEFAULT_CAPACITY = 10_000
#: Bytes kept at most, whatever the line count (10,000 long lines would be 640 MB).
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
#: Bytes of one line kept while it is still being read; the rest is counted.
MAX_LINE_BYTES = 64 * 1024

#: (sequence number of the first line, stream, the lines)
Batch = tuple[int, str, list[bytes]]
#: (sequence number of the first line, stream, the lines joined by newlines, how many)
Block = tuple[int, str, bytes, int]


@dataclass(frozen=True, slots=True)
class LogLine:
    seq: int  # 1 for the first line ever written, increasing by one per line
    stream: str  # "stdout" or "stderr"
    text: str  # safe display text


class LineSplitter:
    """Turns a stream of byte chunks into blocks of whole lines of at most MAX_LINE_BYTES.

    A block is the complete lines of a chunk joined by newlines, with their
    count: a flood of output is kept as the app wrote it, never split into a
    million little objects and joined again. A line longer than the limit keeps
    its head and a note of how much was cut, so a 10 MB line costs 64 KiB.
    """

    def __init__(self, max_line: int = MAX_LINE_BYTES) -> None:
        self.max_line = max_line
        self._partial = bytearray()
        self._dropped = 0

    def feed(self, chunk: bytes) -> tuple[bytes, int]:
        """The lines ``chunk`` completes, as a block and its line count (``b"", 0`` for none)."""
        end = chunk.rfind(b"\n")
        if end < 0:
            self._add_partial(chunk)
            return b"", 0
        start = chunk.find(b"\n")
        self._add_partial(chunk[:start])
        first = self._take_partial()
        count = chunk.count(b"\n")
        if count == 1:
            block = first
        elif has_line_over(chunk, self.max_line, start + 1, end):
            middle = [self._cut(line, len(line) - self.max_line) if len(line) > self.max_line else line for line in chunk[start + 1 : end].split(b"\n")]
            block = b"\n".join([first, *middle])
        else:
            block = first + chunk[start:end]
        self._add_partial(chunk[end + 1 :])
        return block, count

    def flush(self) -> tuple[bytes, int]:
        """The unterminated last line, if any (at end of stream)."""
        if not self._partial and not self._dropped:
            return b"", 0
        return self._take_partial(), 1

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
    """The newest lines of output, with sequence numbers, and who to tell about them.

    Lines are kept in the blocks they arrived in (see ``LineSplitter``) and
    split only when someone asks for them as lines.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        #: (sequence number of the first line, stream, block, line count)
        self._blocks: deque[Block] = deque()
        self._lines = 0
        self._bytes = 0
        self.last_seq = 0
        self._listeners: list[Callable[[], None]] = []

    def append(self, stream: str, lines: list[bytes]) -> None:
        """Add lines (without their newlines); tell listeners once for the batch."""
        if lines:
            self.append_block(stream, b"\n".join(lines), len(lines))

    def append_block(self, stream: str, block: bytes, count: int) -> None:
        """Add ``count`` lines joined by newlines; tell listeners once for them."""
        if count <= 0:
            return
        if count > self.capacity:
            self.last_seq += count - self.capacity
            block = b"\n".join(block.split(b"\n")[-self.capacity :])
            count = self.capacity
        self._blocks.append((self.last_seq + 1, stream, block, count))
        self.last_seq += count
        self._lines += count
        self._bytes += len(block)
        # Whole blocks leave, oldest first; the newest always stays.
        while len(self._blocks) > 1 and (self._lines - self._blocks[0][3] >= self.capacity or self._bytes > self.max_bytes):
            _, _, dropped, dropped_count = self._blocks.popleft()
            self._lines -= dropped_count
            self._bytes -= len(dropped)
        for listener in list(self._listeners):
            listener()

    def blocks_since(self, seq: int, limit: int | None = None) -> list[Block]:
        """The stored lines numbered above ``seq`` (at most the newest ``limit``), as blocks, oldest first."""
        low = seq if limit is None else max(seq, self.last_seq - limit)
        found: list[Block] = []
        for first, stream, block, count in reversed(self._blocks):
            if first + count - 1 <= low:
                break
            if first <= low:
                drop = low - first + 1
                block, count, first = _without_first_lines(block, count, drop), count - drop, low + 1
            found.append((first, stream, block, count))
        found.reverse()
        return found

    def batches_since(self, seq: int, limit: int | None = None) -> list[Batch]:
        """``blocks_since``, each block as its list of lines."""
        return [(first, stream, block.split(b"\n")) for first, stream, block, _ in self.blocks_since(seq, limit)]

    def first_held(self, after: int) -> int | None:
        """The sequence number of the oldest stored line numbered above ``after``; None when there is none."""
        oldest = self.last_seq - self._lines + 1
        return max(oldest, after + 1) if self.last_seq > after else None

    def since(self, seq: int, limit: int | None = None) -> list[LogLine]:
        """Lines numbered above ``seq`` (at most the newest ``limit``), oldest first, as safe text."""
        result: list[LogLine] = []
        for first, stream, lines in self.batches_since(seq, limit):
            result.extend(LogLine(first + i, stream, text) for i, text in enumerate(display_lines(lines)))
        return result

    def tail(self, count: int) -> list[LogLine]:
        return self.since(max(self.last_seq - count, 0))

    def listen(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` after each batch of new lines, in the context it subscribed
        from; returns the unsubscribe function."""
        listener = in_subscribers_context(callback)
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None


def _without_first_lines(block: bytes, count: int, drop: int) -> bytes:
    """``block`` (``count`` lines) without its first ``drop`` lines, at the cost of the smaller part:
    a look at the newest few lines of a 5,000-line block must not split all of it."""
    if drop <= count - drop:
        return block.split(b"\n", drop)[-1]
    cut = len(block)
    for _ in range(count - drop):
        cut = block.rfind(b"\n", 0, cut)
    return block[cut + 1 :]
