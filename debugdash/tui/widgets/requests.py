"""The request list: one row per request, newest first, status coloured, filtered."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote_plus

from rich.text import Text

from debugdash.protocol.request_events import RequestRecord
from debugdash.protocol.text import display_text
from debugdash.tui import format as fmt
from debugdash.tui.widgets.table import FollowingTable

#: Rows drawn at most: a busy server sends thousands a second, and nobody scrolls
#: past the first screens; the filter reaches every request the store holds.
#: Rebuilding 300 rows took ~12 ms of CPU, at most ten times a second and only
#: while the tab is in view; 200 take ~8 ms.
MAX_ROWS = 200

_CLASS = re.compile(r"^([1-5])xx$", re.IGNORECASE)
_STATUS_STYLE = {1: "dim", 2: "green", 3: "cyan", 4: "yellow", 5: "bold red"}


@dataclass(frozen=True, slots=True)
class RequestFilter:
    """``5xx 4xx /api``: status classes (any of them) and path text (all of it, any case)."""

    classes: frozenset[int] = frozenset()
    text: str = ""

    @classmethod
    def parse(cls, typed: str) -> RequestFilter:
        classes, words = set(), []
        for word in typed.split():
            match = _CLASS.match(word)
            if match:
                classes.add(int(match.group(1)))
            else:
                words.append(word)
        return cls(frozenset(classes), " ".join(words).casefold())

    def __bool__(self) -> bool:
        return bool(self.classes or self.text)

    def matches(self, record: RequestRecord) -> bool:
        if self.classes and record.status // 100 not in self.classes:
            return False
        return not self.text or self.text in target(record).casefold()

    def describe(self) -> str:
        parts = [f"{n}xx" for n in sorted(self.classes)]
        if self.text:
            parts.append(repr(self.text))
        return " ".join(parts)


def target(record: RequestRecord) -> str:
    """The path with its query string, percent-decoded to be read (``[redacted]``, not ``%5Bredacted%5D``)."""
    return f"{record.path}?{unquote_plus(record.query)}" if record.query else record.path


def status_text(status: int) -> Text:
    return Text(str(status) if status else "—", _STATUS_STYLE.get(status // 100, "bold magenta"))


def millis(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.1f}ms" if ms < 10 else f"{ms:.0f}ms" if ms < 10_000 else fmt.seconds(seconds)


#: Cells beside the path: time, method, status, duration, size, peer, and the gaps.
_OTHER_CELLS = 8 + 7 + 3 + 7 + 8 + 15 + 7 * 2


class RequestList(FollowingTable):
    """Requests newest first; the highlight follows the newest until the user moves it
    (then it stays on the request chosen, wherever newer ones push it)."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = False
        self.add_column("time", key="time", width=8)
        self.add_column("method", key="method")
        self.add_column("path", key="path")
        self.add_column("st", key="status", width=3)
        self.add_column("took", key="took")
        self.add_column("size", key="size")
        self.add_column("from", key="peer")

    def show(self, records: Sequence[RequestRecord]) -> None:
        """Replace the rows with ``records`` (newest first); those that raised stand out."""
        with self.rebuilding():
            width = self.size.width or self.app.size.width
            room = max(12, width - _OTHER_CELLS)
            for record in records[:MAX_ROWS]:
                key = str(record.id)
                path = Text(display_text(target(record), 400), "bold red" if record.error else "")
                if record.replay:
                    path = Text.assemble(("↻ ", "bold cyan"), path)
                path.truncate(room, overflow="ellipsis")
                self.add_row(
                    Text(fmt.clock_time(record.time), "dim"),
                    Text(display_text(record.method, 7), "bold"),
                    path,
                    status_text(record.status),
                    Text(millis(record.duration), "dim"),
                    Text(fmt.size(record.size), "dim"),
                    Text(display_text(record.remote_addr, 40), "dim"),
                    key=key,
                )
