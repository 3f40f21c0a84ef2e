"""The refused-requests inbox on the Access tab: who was turned away from a
debugger, and why (no grant for the address, or a Host name not trusted), with
counts; ``g`` on a row grants that address, ``t`` trusts that host name."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message

from debugdash.protocol.addresses import parse_peer
from debugdash.protocol.text import display_text
from debugdash.tui import format as fmt
from debugdash.tui.widgets.table import MeasuredTable

#: Rows kept; the least recently refused go first.
MAX_ROWS = 50


@dataclass(slots=True)
class Refusal:
    """Everyone refused for the same reason: an address without a grant, or an untrusted Host name."""

    kind: str  # "address" or "host"
    name: str  # the address (with ", uid N" for another local user), or the host name
    what: str  # "debugger" or "attach"
    address: str  # the peer's address, for a grant
    count: int
    last: float


class Refusals:
    """Folds refusals into rows, most recent first; bounded."""

    def __init__(self) -> None:
        self._rows: OrderedDict[tuple[str, str, str], Refusal] = OrderedDict()

    def add(self, *, address: str, what: str, when: float, peer: str | None = None, host: str | None = None) -> None:
        """One refusal; ``host`` when the Host name, not the address, was the reason."""
        kind, name = ("host", host) if host else ("address", peer or address)
        key = (kind, name, what)
        row = self._rows.pop(key, None)
        if row is None:
            row = Refusal(kind, name, what, _bare(address), 0, when)
        row.count += 1
        row.last, row.address = max(row.last, when), _bare(address) or row.address
        self._rows[key] = row
        while len(self._rows) > MAX_ROWS:
            self._rows.popitem(last=False)

    def rows(self) -> list[Refusal]:
        return list(reversed(self._rows.values()))

    def forget_host(self, host: str) -> None:
        """A host name just trusted no longer belongs in the inbox."""
        for key in [key for key in self._rows if key[0] == "host" and key[1] == host]:
            del self._rows[key]


def _bare(address: str) -> str:
    """The IP address alone (no port, no brackets), as the grant form takes it."""
    text = address.split(",")[0].strip()
    for candidate in (text, text.rsplit(":", 1)[0].strip("[]")):
        ip = parse_peer(candidate)
        if ip is not None:
            return str(ip)
    return text


def _row_key(row: Refusal) -> str:
    return f"{row.kind}\x00{row.name}\x00{row.what}"


class RefusedInbox(MeasuredTable):
    """The inbox rows; ``g`` opens the grant form for the highlighted address, ``t`` trusts its host name."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "grant_row", "Grant this address", show=False),
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
        self._rows: list[Refusal] = []

    def on_mount(self) -> None:
        self.add_column("refused", key="who")
        self.add_column("asked for", key="what")
        self.add_column("why", key="why")
        self.add_column("#", key="count", width=4)
        self.add_column("last", key="last", width=8)

    def show(self, rows: list[Refusal]) -> None:
        selected = self.selected
        keys = [_row_key(row) for row in rows]
        self._rows = rows
        self.clear()
        for row in rows:
            why = "untrusted host name" if row.kind == "host" else "no grant"
            self.add_row(
                Text(display_text(row.name, 80), "bold"),
                Text(row.what),
                Text(why, "yellow" if row.kind == "host" else "dim"),
                Text(str(row.count)),
                Text(fmt.clock_time(row.last), "dim"),
                key=_row_key(row),
            )
        if selected is not None and _row_key(selected) in keys:
            self.move_cursor(row=keys.index(_row_key(selected)), animate=False)

    @property
    def selected(self) -> Refusal | None:
        if not self.row_count or self.cursor_row >= len(self._rows):
            return None
        return self._rows[self.cursor_row]

    def action_grant_row(self) -> None:
        row = self.selected
        self.post_message(self.GrantAsked(row.address if row is not None else ""))

    def action_trust_row(self) -> None:
        row = self.selected
        if row is None or row.kind != "host":
            self.notify("Highlight a row refused for its host name to trust that name.", severity="warning")
            return
        self.post_message(self.TrustAsked(row.name))
