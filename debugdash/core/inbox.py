"""The refused-requests inbox: who was turned away from a debugger, and how often.

Folded from ``access_refused`` events (a pure reducer, like ``state``): one row
per address and what it asked for, and one per untrusted Host name, each with a
count and the last time, newest first. The dashboard's Access tab lists the
rows; ``g`` on an address row grants it, another key trusts a Host name.
"""

from __future__ import annotations

from collections import OrderedDict

from debugdash.core.errors import UserInputError
from debugdash.protocol.events import AccessRefused
from debugdash.protocol.records import dataclass  # dataclasses.dataclass, cheaper to create

#: Rows kept; the least recently refused go first beyond this.
MAX_ROWS = 100


@dataclass(slots=True)
class RefusedRow:
    """Refusals of one peer address (``host`` empty) or of one untrusted Host name."""

    address: str  # the last peer address seen (for a Host row: the last one that used the name)
    what: str  # "debugger" or "attach"
    host: str  # the untrusted Host name; "" for a refusal by address
    count: int
    first: float
    last: float
    detail: str = ""  # the last request path, or why
    uid: int | None = None

    @property
    def by_host(self) -> bool:
        return bool(self.host)


class Inbox:
    def __init__(self) -> None:
        self._rows: OrderedDict[tuple[str, str, str], RefusedRow] = OrderedDict()

    def apply(self, event: AccessRefused) -> None:
        key = ("", event.what, event.host.lower()) if event.host else (event.address, event.what, "")
        row = self._rows.pop(key, None)
        if row is None:
            row = RefusedRow(address=event.address, what=event.what, host=event.host, count=0, first=event.time, last=event.time)
        row.count += 1
        row.last = max(row.last, event.time)
        row.address = event.address
        row.detail = event.detail
        row.uid = event.uid
        self._rows[key] = row
        while len(self._rows) > MAX_ROWS:
            self._rows.popitem(last=False)

    def rows(self) -> list[RefusedRow]:
        """Every row, the most recently refused first."""
        return list(reversed(self._rows.values()))

    def forget_host(self, host: str) -> None:
        """Drop the rows of ``host`` (it was trusted: those refusals are dealt with)."""
        for key in [k for k in self._rows if k[2] == host.lower()]:
            del self._rows[key]

    def forget_address(self, address: str) -> None:
        for key in [k for k in self._rows if k[0] == address]:
            del self._rows[key]


def host_name(text: str) -> str:
    """``text`` as a Host name to trust; UserInputError naming the fix when it is not one."""
    host = text.strip()
    if not host or len(host) > 253 or not host.isprintable() or any(c in host for c in " /@,"):
        raise UserInputError(f"{text!r} is not a host name; give the name the browser used, e.g. myhost.test")
    return host
