"""The error groups: one row per exception type and raising location."""

from __future__ import annotations

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets.data_table import ColumnKey, RowDoesNotExist

from debugdash.core.state import ErrorGroup
from debugdash.protocol.request_events import Verified
from debugdash.protocol.text import display_text
from debugdash.tui import format as fmt
from debugdash.tui.widgets.table import MeasuredTable


def group_id(key: tuple[str, str, int]) -> str:
    """A row key for a group key (DataTable keys are strings)."""
    return f"{key[0]}\x00{key[1]}\x00{key[2]}"


def group_key(row_id: str) -> tuple[str, str, int]:
    type, filename, line = row_id.split("\x00")
    return type, filename, int(line)


def _message(group: ErrorGroup) -> str:
    chain = group.latest.chain
    message = chain[-1].message.strip().splitlines() if chain else []
    return display_text(message[0], 200) if message else ""


def verdict(verified: Verified) -> Text:
    """`` fixed ✓ 12:03:44`` or `` still failing``: how the replay after a reload went."""
    if verified.fixed:
        return Text(f" fixed ✓ {fmt.clock_time(verified.time)}", "bold green")
    return Text(" still failing", "bold red")


#: Cells beside the exception: count, "where" (measured), first, last, and the gaps.
_OTHER_CELLS = 4 + 8 + 8 + 5 * 2


class ErrorList(MeasuredTable):
    """Error groups, newest first; the highlighted row picks the traceback shown.

    The highlight follows the newest group (the top row) until the user moves it:
    then it stays on the group the user chose, wherever newer errors push that
    row, until the user moves back to the top row (or the group is dropped).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        #: The group the user moved to; None while following the newest.
        self._chosen: str | None = None
        # True while show() rebuilds the rows: cursor moves then are ours, not the user's.
        self._placing = False

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

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        super().watch_cursor_coordinate(old, new)
        # Watchers run synchronously, so a move outside show() is a key or a click.
        if not self._placing and self.row_count:
            self._chosen = None if new.row == 0 else self.selected_id

    def show(self, groups: list[ErrorGroup], root: str | None = None, code_since: float | None = None) -> None:
        """Replace the rows; highlight the newest, or the group the user chose while it is there.

        Groups last seen before ``code_since`` (the latest reload or start) were
        raised by code that has changed since: their rows are dimmed and say so.
        """
        self._placing = True
        try:
            self.clear_rows()
            olds = [code_since is not None and g.last_seen < code_since for g in groups]
            places = []
            for group, old in zip(groups, olds):
                place = Text(fmt.short_path(group.key[1], root) + (f":{group.key[2]}" if group.key[1] else ""), "dim" if old else "")
                verified = group.verified  # a replay after the latest reload says more than "before reload"
                if verified is not None:
                    place.append_text(verdict(verified))
                elif old:
                    place.append(" before reload", "dim italic")
                places.append(place)
            # Counts are exact: a burst of 10,000 gets a fifth digit rather than a cut one.
            count_width = max(4, *(len(str(group.count)) for group in groups)) if groups else 4
            self.columns[ColumnKey("count")].width = count_width
            width = self.size.width or self.app.size.width
            room = width - _OTHER_CELLS - (count_width - 4) - max((place.cell_len for place in places), default=0)
            for group, old, place in zip(groups, olds, places):
                kind = Text()  # the style on the type only: the message beside it is plain
                kind.append(display_text(group.type, 60), "dim red" if old else "bold red")
                message = _message(group)
                if message and room - kind.cell_len > 8:
                    kind.append(" ")
                    kind.append(message, "dim" if old else "")
                    kind.truncate(room, overflow="ellipsis")
                self.add_row(
                    Text(str(group.count), "dim" if old else "bold"),
                    kind,
                    place,
                    Text(fmt.clock_time(group.first_seen), "dim"),
                    Text(fmt.clock_time(group.last_seen), "dim" if old else ""),
                    key=group_id(group.key),
                )
            row = 0
            if self._chosen is not None:
                try:
                    row = self.get_row_index(self._chosen)
                except RowDoesNotExist:  # the group was dropped: follow the newest again
                    self._chosen = None
            self.move_cursor(row=row, animate=False)
        finally:
            self._placing = False
