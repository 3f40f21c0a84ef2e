"""The server's output: a bounded, virtual line view fed in batches, with search.

The supervisor's LogBuffer tells us when lines arrive, possibly thousands of
times a second. We only note that, and a timer hands whatever is new to the view
at most ten times a second; the view keeps plain strings and renders only the
lines on screen. So a flood costs one deque extend per tick, not one widget
update per line.
"""

from __future__ import annotations

from collections import deque
from typing import Any, ClassVar

from rich.segment import Segment
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer
from textual.widgets import Input, Static

#: Lines kept on screen (the supervisor keeps its own bounded buffer too).
MAX_LINES = 10_000
#: How often new output is handed to the view, in seconds.
FLUSH_INTERVAL = 0.1
_MATCH_STYLE = "bold black on yellow"
_CURRENT_STYLE = "on grey30"


class LogView(ScrollView, can_focus=True):
    """Plain-text lines, newest at the bottom, following the end unless scrolled away."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "scroll_up", "Up", show=False),
        Binding("down", "scroll_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "scroll_home", "Top", show=False),
        Binding("end,f", "follow", "Follow"),
        Binding("n", "find_older", "Older match", show=False),
        Binding("N", "find_newer", "Newer match", show=False),
    ]

    search: reactive[str] = reactive("")

    def __init__(self, max_lines: int = MAX_LINES, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lines: deque[str] = deque(maxlen=max_lines)
        self._first = 0  # absolute number of self._lines[0]; grows as old lines drop
        self._width = 0
        self._match: int | None = None  # absolute number of the current match
        # Whether new lines scroll the view; only the user's own scrolling changes it
        # (scroll_end is applied after a refresh, so the scroll position lags appends).
        self._follow = True

    @property
    def line_count(self) -> int:
        return len(self._lines)

    @property
    def lines(self) -> list[str]:
        return list(self._lines)

    @property
    def following(self) -> bool:
        return self._follow

    def append(self, lines: list[str]) -> None:
        """Add a batch of lines (already safe display text)."""
        if not lines:
            return
        follow = self.following
        before = len(self._lines)
        self._lines.extend(line.expandtabs() for line in lines)
        dropped = before + len(lines) - len(self._lines)
        self._first += dropped
        self._width = max(self._width, max(len(line) for line in lines[-self._lines.maxlen :]))
        self.virtual_size = Size(self._width, len(self._lines))
        if follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        elif dropped:
            # Keep the lines the user is reading in place while older ones fall off.
            self.scroll_to(y=max(0, self.scroll_y - dropped), animate=False, immediate=True)
        self.refresh()

    def on_resize(self) -> None:
        # Lines that arrived while the view was hidden (another tab) had no size
        # to scroll against; catch up when it gets one.
        if self._follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def on_show(self) -> None:
        self.on_resize()

    def clear(self) -> None:
        self._first += len(self._lines)
        self._lines.clear()
        self._width = 0
        self._match = None
        self.virtual_size = Size(0, 0)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        style = self.rich_style
        if index >= len(self._lines):
            return Strip.blank(width, style)
        text = Text(self._lines[index], no_wrap=True, end="")
        if self.search:
            text.highlight_words([self.search], _MATCH_STYLE, case_sensitive=False)
        if self._match == self._first + index:
            text.stylize(_CURRENT_STYLE)
        segments = list(text.render(self.app.console))
        strip = Strip(Segment.apply_style(segments, style), text.cell_len)
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    def watch_search(self) -> None:
        self._match = None
        self.refresh()

    def find(self, older: bool = True) -> bool:
        """Move to the next match above (``older``) or below the current one; False if none."""
        needle = self.search.casefold()
        if not needle:
            return False
        lines = list(self._lines)
        if self._match is not None and self._match >= self._first:
            start = self._match - self._first + (-1 if older else 1)
        elif self._follow:
            start = len(lines) - 1
        else:
            start = min(len(lines) - 1, int(self.scroll_y) + self.size.height - 1) if older else int(self.scroll_y)
        indices = range(start, -1, -1) if older else range(max(start, 0), len(lines))
        for index in indices:
            if needle in lines[index].casefold():
                self._match = self._first + index
                self._follow = False
                self.scroll_to(y=max(0, index - self.size.height // 2), animate=False, immediate=True)
                self.refresh()
                return True
        return False

    def action_follow(self) -> None:
        self._match = None
        self._follow = True
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    # The user scrolling away stops following; scrolling back to the end resumes it.

    def action_scroll_up(self) -> None:
        self._follow = False
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self._follow = False
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self._follow = False
        super().action_scroll_home()

    def action_scroll_down(self) -> None:
        super().action_scroll_down()
        self.call_after_refresh(self._resume_at_end)

    def action_page_down(self) -> None:
        super().action_page_down()
        self.call_after_refresh(self._resume_at_end)

    def on_mouse_scroll_up(self) -> None:
        self._follow = False

    def on_mouse_scroll_down(self) -> None:
        self.call_after_refresh(self._resume_at_end)

    def _resume_at_end(self) -> None:
        if self.scroll_y >= self.max_scroll_y:
            self._follow = True

    def action_find_older(self) -> None:
        if not self.find(older=True):
            self.notify(f"No older match for {self.search!r}", severity="warning", markup=False)

    def action_find_newer(self) -> None:
        if not self.find(older=False):
            self.notify(f"No newer match for {self.search!r}", severity="warning", markup=False)


class LogPane(Vertical):
    """The log view, its status line, and the ``/`` search box."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("slash", "search", "Search")]

    def __init__(self, max_lines: int = MAX_LINES, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._max_lines = max_lines
        self._buffer: Any = None
        self._unlisten = None
        self._seq = 0
        self._dirty = False
        self._flush_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield LogView(self._max_lines, id="log-view")
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
        """Show the lines of a LogBuffer (``since``/``last_seq``/``listen``) as they arrive."""
        self._buffer = buffer
        self._seq = 0
        self._unlisten = buffer.listen(self._mark_dirty)
        self._mark_dirty()

    def _mark_dirty(self) -> None:
        # Lines arrive a chunk at a time, thousands a second in a flood: they are
        # shown at most every FLUSH_INTERVAL, and nothing wakes up while none come.
        self._dirty = True
        if self._flush_timer is None and self.is_mounted:
            self._flush_timer = self.set_timer(FLUSH_INTERVAL, self._flush)

    def _flush(self) -> None:
        self._flush_timer = None
        if not self._dirty or self._buffer is None:
            return
        self._dirty = False
        lines = self._buffer.since(self._seq, limit=self._max_lines)
        self._seq = self._buffer.last_seq
        if lines:
            self.query_one(LogView).append([line.text for line in lines])
            self._show_status()

    def _show_status(self) -> None:
        view = self.query_one(LogView)
        status = Text(f"{view.line_count} lines", "dim")
        if view.search:
            status.append("  search: ", "dim")
            status.append(view.search, "bold")
            status.append("  n older · N newer", "dim")
        else:
            status.append("  / search · f follow", "dim")
        self.query_one("#log-status", Static).update(status)

    def action_search(self) -> None:
        search = self.query_one("#log-search", Input)
        search.display = True
        search.focus()

    @on(Input.Changed, "#log-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.query_one(LogView).search = event.value
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
