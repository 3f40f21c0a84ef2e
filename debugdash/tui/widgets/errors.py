"""The error groups: one row per exception type and raising location."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from debugdash.core.state import ErrorGroup
from debugdash.protocol.text import display_text
from debugdash.tui import format as fmt


def group_id(key: tuple[str, str, int]) -> str:
    """A row key for a group key (DataTable keys are strings)."""
    return f"{key[0]}\x00{key[1]}\x00{key[2]}"


class ErrorList(DataTable):
    """Error groups, newest first; the highlighted row picks the traceback shown."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = False
        self.add_column("#", key="count", width=4)
        self.add_column("exception", key="type")
        self.add_column("where", key="where")
        self.add_column("first", key="first", width=8)
        self.add_column("last", key="last", width=8)

    @property
    def selected_id(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def show(self, groups: list[ErrorGroup], root: str | None = None) -> None:
        """Replace the rows, keeping the same group highlighted when it is still there."""
        selected = self.selected_id
        self.clear()
        for group in groups:
            self.add_row(
                Text(str(group.count), "bold"),
                Text(display_text(group.type, 60), "bold red"),
                Text(fmt.short_path(group.key[1], root) + (f":{group.key[2]}" if group.key[1] else "")),
                Text(fmt.clock_time(group.first_seen), "dim"),
                Text(fmt.clock_time(group.last_seen)),
                key=group_id(group.key),
            )
        if selected is not None:
            try:
                self.move_cursor(row=self.get_row_index(selected), animate=False)
            except RowDoesNotExist:  # the group was dropped; stay at the top
                self.move_cursor(row=0, animate=False)
