"""The Errors tab: the error groups above, the highlighted group's traceback below."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.timer import Timer
from textual.widgets import DataTable

from debugdash.core.state import ErrorGroup, SessionState
from debugdash.tui.widgets.console import ConsoleCalls, FrameConsole
from debugdash.tui.widgets.errors import ErrorList, group_id, group_key
from debugdash.tui.widgets.traceback import TracebackView

NO_ERRORS = "No errors yet. Requests that raise an exception show up here, grouped by type and place."


class ErrorsPane(Vertical):
    """Shows a SessionState's error groups (or its load error); the highlight picks the traceback."""

    def __init__(self, *, root: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._root = root
        self._groups: list[ErrorGroup] = []
        self._toast_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield ErrorList(id="errors-table")
        yield TracebackView(id="traceback", root=self._root)
        yield FrameConsole(id="console")

    def show(self, state: SessionState) -> None:
        table = self.query_one(ErrorList)
        groups = self._groups = state.error_groups
        table.display = bool(groups)
        table.show(groups, self._root, state.code_since)
        view = self.query_one(TracebackView)
        group = self._group(table.selected_id)
        if group is not None:  # the highlighted group may have a newer occurrence than the one shown
            view.show_request_error(group.latest)
        if not groups:
            if state.load_error is not None:
                view.show_load_error(state.load_error)
            else:
                view.show_message(NO_ERRORS)

    def highlighted_key(self) -> tuple[str, str, int] | None:
        selected = self.query_one(ErrorList).selected_id
        return group_key(selected) if selected is not None else None

    def highlighted_group(self) -> ErrorGroup | None:
        return self._group(self.query_one(ErrorList).selected_id)

    def open_console(self, calls: ConsoleCalls) -> None:
        """Show the console under the traceback, bound to the frame ``calls`` reach."""
        self.query_one(FrameConsole).open(calls)

    @on(FrameConsole.Closed)
    def _console_closed(self) -> None:
        self.query_one(TracebackView).focus()

    def keep_clear_of_toast(self, seconds: float) -> None:
        """For ``seconds``, keep the traceback's text above the bottom-right toast,
        where its last line (the exception and its message) would be."""
        view = self.query_one(TracebackView)
        view.add_class("-under-toast")
        if self._toast_timer is not None:
            self._toast_timer.stop()
        self._toast_timer = self.set_timer(seconds, lambda: view.remove_class("-under-toast"))

    def _group(self, selected: str | None) -> ErrorGroup | None:
        return next((g for g in self._groups if group_id(g.key) == selected), None)

    @on(DataTable.RowHighlighted, "#errors-table")
    def _highlighted(self, message: DataTable.RowHighlighted) -> None:
        # The row highlighted now, not the message's: a rebuild of the rows posts
        # messages for rows the cursor has already left, and they arrive later.
        table = message.data_table
        group = self._group(table.selected_id if isinstance(table, ErrorList) else None)
        if group is None:
            return
        try:
            self.query_one(TracebackView).show_request_error(group.latest)
        except NoMatches:  # a late message while the app closes
            pass
