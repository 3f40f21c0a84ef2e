"""A DataTable that never keeps rows drawn at column widths it has since outgrown."""

from __future__ import annotations

from textual.widgets import DataTable


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
