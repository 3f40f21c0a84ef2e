"""The Log tab: the server's output fed to a LogView in batches, with search and save.

The supervisor's LogBuffer tells us when lines arrive, possibly thousands of
times a second. We only note that, and a timer hands what is new to the view:
at once after a quiet spell, then at most ten times a second. While the view
follows the end, a flush hands over only the newest few screens of lines: in a
flood everything older would scroll past unseen, and decoding it kept the event
loop (which also drains the server's pipes) busy. The skipped lines stay in the
LogBuffer; the view fetches them the moment the user scrolls back or searches.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.timer import Timer
from textual.widgets import Input, Static

from debugdash.tui.widgets.log import FOLLOW_MIN_LINES, FOLLOW_SCREENS, MAX_LINES, LogView

#: How often new output is handed to the view, in seconds.
FLUSH_INTERVAL = 0.1


class LogPane(Vertical):
    """The log view, its status line, and the ``/`` search box."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("slash", "search", "Search", show=False)]  # see LogView

    def __init__(self, max_lines: int = MAX_LINES, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._max_lines = max_lines
        self._buffer: Any = None
        self._unlisten = None
        self._seq = 0
        self._dirty = False
        self._flush_timer: Timer | None = None
        self._last_flush = float("-inf")
        self._status: Text | None = None
        self._match_count = 0

    def compose(self) -> ComposeResult:
        view = LogView(self._max_lines, id="log-view")
        view.history = self._load_history
        yield view
        yield Input(placeholder="search the log; Enter: find older, Escape: close", id="log-search")
        yield Static(id="log-status")

    def on_mount(self) -> None:
        self.query_one("#log-search", Input).display = False
        self._show_status()
        if self._dirty:
            self._mark_dirty()

    def on_unmount(self) -> None:
        if self._unlisten is not None:
            self._unlisten()

    def follow_buffer(self, buffer: Any) -> None:
        """Show the lines of a LogBuffer (``since``/``first_held``/``last_seq``/``listen``) as they arrive."""
        self._buffer = buffer
        self._seq = 0
        self._unlisten = buffer.listen(self._mark_dirty)
        self._mark_dirty()

    def _mark_dirty(self) -> None:
        # Lines arrive a chunk at a time, thousands a second in a flood: the first
        # after a quiet spell is shown at once, then at most every FLUSH_INTERVAL,
        # and nothing wakes up while none come.
        self._dirty = True
        if self._flush_timer is None and self.is_mounted:
            wait = max(0.001, self._last_flush + FLUSH_INTERVAL - time.monotonic())  # Textual timers need > 0
            self._flush_timer = self.set_timer(wait, self._flush)

    def _flush(self) -> None:
        self._flush_timer = None
        if not self._dirty or self._buffer is None:
            return
        try:
            view = self.query_one(LogView)
        except NoMatches:  # the dashboard is closing: children unmount before their parent's timers stop
            return
        self._dirty = False
        self._last_flush = time.monotonic()
        limit = self._max_lines
        if view.following:  # a search fetches what it skipped itself (LogView.find)
            limit = min(limit, max(FOLLOW_SCREENS * view.size.height, FOLLOW_MIN_LINES))
        lines = self._buffer.since(self._seq, limit=limit)
        self._seq = self._buffer.last_seq
        if lines:
            view.append([line.text for line in lines], first=lines[0].seq)
            if view.search:
                self._count_matches()
            self._show_status()

    def _load_history(self) -> None:
        """Give the view every line the buffer still holds (up to its size), newest included."""
        if self._buffer is None:
            return
        lines = self._buffer.since(0, limit=self._max_lines)
        self._seq = self._buffer.last_seq
        if lines:
            self.query_one(LogView).load(lines[0].seq, [line.text for line in lines])
            self._show_status()

    def _span(self, view: LogView) -> tuple[int, int]:
        """The first sequence number the user can scroll to, and how many lines from there."""
        if not view.complete and self._buffer is not None:
            last = self._buffer.last_seq
            first = self._buffer.first_held(after=max(0, last - self._max_lines))
            if first is not None:
                return first, last - first + 1
        return view.first_seq, view.line_count

    def _show_status(self) -> None:
        view = self.query_one(LogView)
        first, total = self._span(view)
        status = Text(f"{total:,} lines", "dim")
        if first > 1:
            # Lines numbered from 1: those before the first held have left the ring for good.
            status.append(f" · {first - 1:,} older lines dropped", "yellow")
        if view.search:
            status.append("  search: ", "dim")
            status.append(view.search, "bold")
            count = self._match_count
            status.append(f"  {count:,} match{'es' if count != 1 else ''}", "bold" if count else "dim")
            status.append("  n older · N newer", "dim")
        else:
            status.append("  / search · f follow · s save", "dim")
        if status != self._status:
            self._status = status
            # One line, whatever it says: no need to lay the screen out again.
            self.query_one("#log-status", Static).update(status, layout=False)

    def _count_matches(self) -> None:
        view = self.query_one(LogView)
        needle = view.search.casefold()
        if needle:
            view.fetch_history()  # every line the user could scroll to counts
        self._match_count = sum(needle in line.casefold() for line in view.lines) if needle else 0

    def save_and_say(self, directory: Path, now: float) -> None:
        """:meth:`save`, then a notice saying where (or why not)."""
        try:
            path, count = self.save(directory, now)
        except OSError as e:
            self.notify(f"Could not save the log in {directory}: {e.strerror or e}", severity="error", markup=False)
            return
        self.notify(f"{count:,} lines written to {path} (readable by you only).", title="Log saved", timeout=10, markup=False)

    def save(self, directory: Path, now: float) -> tuple[Path, int]:
        """Write every line the buffer holds (as shown: neutralised) to a new file only the user can read."""
        lines = self._buffer.since(0) if self._buffer is not None else []
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
        for n in range(100):
            path = directory / f"debugdash-log-{stamp}{f'-{n}' if n else ''}.txt"
            try:
                # O_EXCL: never through a link someone planted; 0600: server output can hold secrets.
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.writelines(f"{line.text}\n" for line in lines)
            return path, len(lines)
        raise FileExistsError(f"{directory}/debugdash-log-{stamp}*.txt")

    def action_search(self) -> None:
        search = self.query_one("#log-search", Input)
        search.display = True
        search.focus()

    @on(Input.Changed, "#log-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.query_one(LogView).search = event.value
        self._count_matches()
        self._show_status()

    @on(Input.Submitted, "#log-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        view = self.query_one(LogView)
        if not view.find(older=True):
            self.notify(f"No match for {event.value!r}", severity="warning", markup=False)
        view.focus()

    def key_escape(self) -> None:
        search = self.query_one("#log-search", Input)
        if search.display:
            search.value = ""
            search.display = False
            self.query_one(LogView).focus()
