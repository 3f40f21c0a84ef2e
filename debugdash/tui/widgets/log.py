"""The server's output as a bounded, virtual line view: it keeps plain strings,
renders only the lines on screen, follows the end, and finds matches.
(``log_pane`` feeds it from the supervisor's LogBuffer.)"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar

from rich.segment import Segment
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

#: Lines kept on screen (the supervisor keeps its own bounded buffer too).
MAX_LINES = 10_000
#: While following the end, a flush hands over at most this many screens of the
#: newest lines (and at least FOLLOW_MIN_LINES); scrolling back fetches the rest.
FOLLOW_SCREENS = 4
FOLLOW_MIN_LINES = 500
_MATCH_STYLE = "bold black on yellow"
_CURRENT_STYLE = "on grey30"


class LogView(ScrollView, can_focus=True):
    """Plain-text lines, newest at the bottom, following the end unless scrolled away.

    Lines carry sequence numbers (``first`` in :meth:`append`): when the numbers
    jump, the lines in between were skipped while following, and the view asks
    ``history`` for them before the user scrolls back or searches.
    """

    # Shown in the pane's status line, not the footer: the footer then shows the
    # same keys on every tab, so switching tabs never rebuilds it.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "scroll_up", "Up", show=False),
        Binding("down", "scroll_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "scroll_home", "Top", show=False),
        Binding("end,f", "follow", "Follow", show=False),
        Binding("n", "find_older", "Older match", show=False),
        Binding("N", "find_newer", "Newer match", show=False),
    ]

    search: reactive[str] = reactive("")

    def __init__(self, max_lines: int = MAX_LINES, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lines: deque[str] = deque(maxlen=max_lines)
        self._first = 1  # sequence number of self._lines[0]; LogBuffer numbers from 1 too
        self._width = 0
        self._match: int | None = None  # sequence number of the current match
        # Whether new lines scroll the view; only the user's own scrolling changes it
        # (scroll_end is applied after a refresh, so the scroll position lags appends).
        self._follow = True
        # False once lines were skipped while following: older ones must be fetched.
        self._complete = True
        #: Called (synchronously) when the view needs the lines it skipped; it is
        #: expected to :meth:`load` them.
        self.history: Callable[[], None] | None = None
        self._line_style: Any = None

    @property
    def line_count(self) -> int:
        return len(self._lines)

    @property
    def lines(self) -> list[str]:
        return list(self._lines)

    @property
    def following(self) -> bool:
        return self._follow

    @property
    def complete(self) -> bool:
        """False when older lines were skipped while following (they are fetched on demand)."""
        return self._complete

    @property
    def first_seq(self) -> int:
        """The sequence number of the oldest line held."""
        return self._first

    def append(self, lines: list[str], first: int | None = None) -> None:
        """Add a batch of lines (already safe display text); ``first`` numbers the first one.

        A ``first`` beyond the line after the newest held means lines were skipped:
        the view then holds only the new ones until :meth:`load` fills in the rest.
        """
        if not lines:
            return
        follow = self._follow
        if first is not None and first != self._first + len(self._lines):
            self._lines.clear()
            self._first = first
            self._complete = False
        before = len(self._lines)
        self._lines.extend(_expand_tabs(lines))
        dropped = before + len(lines) - len(self._lines)
        self._first += dropped
        self._grow(lines)
        if follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        elif dropped:
            # Keep the lines the user is reading in place while older ones fall off.
            self.scroll_to(y=max(0, self.scroll_y - dropped), animate=False, immediate=True)
        self.refresh()

    def load(self, first: int, lines: list[str]) -> None:
        """Replace the lines with ``lines`` (numbered from ``first``), the same line staying on top."""
        top = self._first + int(self.scroll_y)
        keep = self._lines.maxlen or len(lines)
        if len(lines) > keep:
            first += len(lines) - keep
            lines = lines[-keep:]
        self._lines.clear()
        self._lines.extend(_expand_tabs(lines))
        self._first = first
        self._complete = True
        self._grow(lines)
        if self._follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        else:
            self.scroll_to(y=max(0, top - first), animate=False, immediate=True)
        self.refresh()

    def _grow(self, lines: list[str]) -> None:
        if lines:
            self._width = max(self._width, max(map(len, lines)))
        size = Size(self._width, len(self._lines))
        if size != self.virtual_size:
            self.virtual_size = size
            if self._follow:
                # Until the next layout the view may not know it can scroll (and a
                # new virtual size alone sends it no Resize): go to the end after it.
                self.call_after_refresh(self._keep_at_end)

    def _keep_at_end(self) -> None:
        if self._follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def fetch_history(self) -> None:
        """Have every line the buffer still holds (lines skipped while following included)."""
        if not self._complete and self.history is not None:
            self.history()

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

    def render_lines(self, crop: Region) -> list[Strip]:
        # The widget's style is the same for every line of one pass, and costly to compute.
        self._line_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._line_style = None

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        style = self._line_style or self.rich_style
        if index >= len(self._lines):
            return Strip.blank(width, style)
        line = self._lines[index]
        seq = self._first + index
        if not self.search and self._match != seq:
            strip = Strip([Segment(line, style)])
        else:
            text = Text(line, no_wrap=True, end="")
            if self.search:
                text.highlight_words([self.search], _MATCH_STYLE, case_sensitive=False)
            if self._match == seq:
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
        self.fetch_history()
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

    # The user scrolling away stops following (and brings back the skipped lines);
    # scrolling back to the end resumes it.

    def _leave_end(self) -> None:
        self._follow = False
        self.fetch_history()

    def action_scroll_up(self) -> None:
        self._leave_end()
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self._leave_end()
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self._leave_end()
        super().action_scroll_home()

    def action_scroll_down(self) -> None:
        super().action_scroll_down()
        self.call_after_refresh(self._resume_at_end)

    def action_page_down(self) -> None:
        super().action_page_down()
        self.call_after_refresh(self._resume_at_end)

    def on_mouse_scroll_up(self) -> None:
        self._leave_end()

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


def _expand_tabs(lines: list[str]) -> list[str]:
    # Nearly every batch has no tab at all: one scan instead of a call per line.
    if any("\t" in line for line in lines):
        return [line.expandtabs() for line in lines]
    return lines
