"""DataTables of the dashboard: one that never keeps rows drawn at column widths it
has since outgrown, and a newest-first list whose highlight follows the newest row."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist


class MeasuredTable(DataTable):
    """DataTable measures new rows only when it is next idle, but a line drawn
    before that stays cached at the old column widths until some other change:
    on a busy machine a new error showed as "RuntimeEr" until the next one.
    When the measured (virtual) size changes, the table is drawn afresh."""

    def watch_virtual_size(self) -> None:
        self.notify_style_update()  # the public way to drop the table's cached lines

    def clear_rows(self) -> None:
        """``clear()``, and auto-width columns measured afresh from the rows added next:
        DataTable only ever widens them, so one long cell kept a column (and the
        table, past the screen's edge) wide after that row was gone."""
        self.clear()
        for column in self.columns.values():
            if column.auto_width:
                column.content_width = column.label.cell_len


class FollowingTable(MeasuredTable):
    """Rows newest first. The highlight follows the newest row (the top one) until
    the user moves it: then it stays on the row the user chose, wherever newer rows
    push it, until the user moves back to the top (or the row is gone)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: The row key the user moved to; None while following the newest.
        self._chosen: str | None = None
        # True while rows are rebuilt: cursor moves then are ours, not the user's.
        self._placing = False

    @property
    def selected_id(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        super().watch_cursor_coordinate(old, new)
        # Watchers run synchronously, so a move outside rebuilding() is a key or a click.
        if not self._placing and self.row_count:
            self._chosen = None if new.row == 0 else self.selected_id

    @contextmanager
    def rebuilding(self) -> Iterator[None]:
        """Clear the rows for the block to add them again, then put the highlight back:
        on the row the user chose while it is there, else on the newest."""
        self._placing = True
        try:
            self.clear_rows()
            yield
            row = 0
            if self._chosen is not None:
                try:
                    row = self.get_row_index(self._chosen)
                except RowDoesNotExist:  # filtered out or dropped: follow the newest again
                    self._chosen = None
            self.move_cursor(row=row, animate=False)
        finally:
            self._placing = False
