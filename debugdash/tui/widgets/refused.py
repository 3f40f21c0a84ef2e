"""The refused-requests inbox on the Access tab: who was turned away from a
debugger, and why (no grant for the address, or a Host name not trusted), with
counts; ``g`` on a row grants that address, ``t`` trusts that host name."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message

from debugdash.core.inbox import RefusedRow
from debugdash.protocol.addresses import parse_peer
from debugdash.protocol.text import display_text
from debugdash.tui import format as fmt
from debugdash.tui.widgets.table import MeasuredTable


def _bare(address: str) -> str:
    """The IP address alone (no port, no brackets), as the grant form takes it."""
    text = address.strip()
    for candidate in (text, text.rsplit(":", 1)[0].strip("[]")):
        ip = parse_peer(candidate)
        if ip is not None:
            return str(ip)
    return text


def _row_key(row: RefusedRow) -> str:
    return f"{row.host.lower()}\x00{'' if row.host else row.address}\x00{row.what}"


class RefusedInbox(MeasuredTable):
    """The inbox rows; ``g`` opens the grant form for the highlighted address, ``t`` trusts its host name."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "grant_row", "Grant"),  # the same key as elsewhere, pre-filled with the row
        Binding("t", "trust_row", "Trust this host name", show=False),
    ]

    class GrantAsked(Message):
        """``g`` on a row: open the grant form with this address."""

        def __init__(self, address: str) -> None:
            super().__init__()
            self.address = address

    class TrustAsked(Message):
        """``t`` on a row refused for its Host name: trust that name for this session."""

        def __init__(self, host: str) -> None:
            super().__init__()
            self.host = host

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self._rows: list[RefusedRow] = []

    def on_mount(self) -> None:
        self.add_column("refused", key="who")
        self.add_column("asked for", key="what")
        self.add_column("why", key="why")
        self.add_column("#", key="count", width=4)
        self.add_column("last", key="last", width=8)

    def show(self, rows: list[RefusedRow]) -> None:
        selected = self.selected
        keys = [_row_key(row) for row in rows]
        self._rows = rows
        self.clear()
        for row in rows:
            who = row.host if row.host else row.address if row.uid is None else f"{row.address}, uid {row.uid}"
            self.add_row(
                Text(display_text(who, 80), "bold"),
                Text(row.what),
                Text("untrusted host name" if row.host else "no grant", "yellow" if row.host else "dim"),
                Text(str(row.count)),
                Text(fmt.clock_time(row.last), "dim"),
                key=_row_key(row),
            )
        if selected is not None and _row_key(selected) in keys:
            self.move_cursor(row=keys.index(_row_key(selected)), animate=False)

    @property
    def selected(self) -> RefusedRow | None:
        if not self.row_count or self.cursor_row >= len(self._rows):
            return None
        return self._rows[self.cursor_row]

    def action_grant_row(self) -> None:
        row = self.selected
        self.post_message(self.GrantAsked(_bare(row.address) if row is not None else ""))

    def action_trust_row(self) -> None:
        row = self.selected
        if row is None or not row.host:
            self.notify("Highlight a row refused for its host name to trust that name.", severity="warning")
            return
        self.post_message(self.TrustAsked(row.host))
