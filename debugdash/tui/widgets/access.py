"""Remote access: who may reach a debugger, for what, and for how much longer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from debugdash.tui import format as fmt
from debugdash.core.inbox import RefusedRow
from debugdash.tui.widgets.refused import RefusedInbox
from debugdash.tui.widgets.table import MeasuredTable

#: Entries with less than this many seconds left are highlighted.
LAST_MINUTE = 60.0

EMPTY_TEXT = "No remote access. Press g to grant an address."
HINT_TEXT = "x: revoke the highlighted entry · g: grant another · each ends by itself at 0:00"
INBOX_TITLE = "Refused — g: grant the highlighted address · t: trust its host name"


class AccessPanel(Vertical):
    """The allowlist with a live countdown; ``x`` revokes the highlighted entry."""

    def compose(self) -> ComposeResult:
        yield Static(EMPTY_TEXT, id="access-empty")
        yield MeasuredTable(id="access-table", cursor_type="row")
        yield Static(HINT_TEXT, id="access-hint")
        yield Static(INBOX_TITLE, id="refused-title")
        yield RefusedInbox(id="refused-table")

    def on_mount(self) -> None:
        table = self.query_one("#access-table", DataTable)
        table.add_column("address", key="address")
        table.add_column("grants", key="what")
        table.add_column("left", key="left", width=9)
        table.display = False
        self.query_one("#access-hint", Static).display = False
        self.show_refused([])

    def show_refused(self, rows: list[RefusedRow]) -> None:
        """The refused-requests inbox, most recent first; hidden while empty."""
        inbox = self.query_one(RefusedInbox)
        inbox.show(rows)
        inbox.display = bool(rows)
        self.query_one("#refused-title", Static).display = bool(rows)

    @property
    def selected_network(self) -> str | None:
        table = self.query_one("#access-table", DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def show(self, entries: Sequence[Any], now: float, refused: list[RefusedRow] | None = None) -> None:
        """Render entries (``.network``, ``.what``, ``.remaining(now)``); soonest to expire first;
        and the refused-requests inbox."""
        if refused is not None:
            self.show_refused(refused)
        table = self.query_one("#access-table", DataTable)
        selected = self.selected_network
        live = [(entry, entry.remaining(now)) for entry in entries]
        live = sorted((pair for pair in live if pair[1] > 0), key=lambda pair: pair[1])
        table.clear()
        for entry, left in live:
            urgent = left <= LAST_MINUTE
            style = "bold black on yellow" if urgent else ""
            table.add_row(
                Text(entry.network, style or "bold"),
                Text(", ".join(entry.what), style),
                Text(fmt.countdown(left), style or "green"),
                key=entry.network,
            )
        table.display = bool(live)
        self.query_one("#access-hint", Static).display = bool(live)
        self.query_one("#access-empty", Static).display = not live
        if selected is not None and live:
            keys = [entry.network for entry, _ in live]
            if selected in keys:
                table.move_cursor(row=keys.index(selected), animate=False)

