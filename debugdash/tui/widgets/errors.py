"""The error groups: one row per exception type and raising location."""

from __future__ import annotations

from rich.text import Text
from textual.widgets.data_table import ColumnKey

from debugdash.core.state import ErrorGroup
from debugdash.protocol.request_events import Verified
from debugdash.protocol.text import display_text
from debugdash.tui import format as fmt
from debugdash.tui.widgets.table import FollowingTable


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


class ErrorList(FollowingTable):
    """Error groups, newest first; the highlighted row picks the traceback shown
    (it follows the newest group until the user moves it: see FollowingTable)."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = False
        self.add_column("#", key="count", width=4)
        self.add_column("exception", key="type")
        self.add_column("where", key="where")
        self.add_column("first", key="first", width=8)
        self.add_column("last", key="last", width=8)

    def show(self, groups: list[ErrorGroup], root: str | None = None, code_since: float | None = None) -> None:
        """Replace the rows; highlight the newest, or the group the user chose while it is there.

        Groups last seen before ``code_since`` (the latest reload or start) were
        raised by code that has changed since: their rows are dimmed and say so.
        """
        with self.rebuilding():
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
