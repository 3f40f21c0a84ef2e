"""Events of the Requests view (issue 12): each request's record, and fixes verified by a
replay after a reload.

Standard library only, like the rest of ``protocol``; the classes register with the
one codec like every event (see ``events``).
"""

from __future__ import annotations

from typing import ClassVar

from debugdash.protocol.events import Event
from debugdash.protocol.records import dataclass, field  # dataclasses.dataclass, cheaper to create


@dataclass(slots=True, kw_only=True)
class RequestRecord(Event):
    """One request the server answered: the cheap record every request gets.

    Secret query values are already redacted here. The agent numbers requests
    per process and sends them in batches; the supervisor renumbers them for
    the session (``debugdash curl ID``) before they are published.
    """

    name: ClassVar[str] = "request"
    id: int
    method: str
    path: str
    query: str = ""
    status: int
    duration: float  # seconds, from the call into the app to the end of the body
    size: int  # response body bytes
    remote_addr: str
    pid: int = 0
    #: True when it raised: a ``request_error`` with this ``request_id`` has the traceback.
    error: bool = False
    #: Set when debugdash replayed this request (its mark); "" for every other request.
    replay: str = ""


@dataclass(slots=True, kw_only=True)
class Verified(Event):
    """A failing request replayed after a reload: the error group it belongs to is fixed or not."""

    name: ClassVar[str] = "verified"
    #: The error group, as ``ErrorGroup.key``: exception type, file, line.
    error_type: str
    filename: str
    lineno: int
    request_id: int  # the request that failed
    replay_id: int = 0  # the replay's own record; 0 when it never arrived
    fixed: bool
    status: int = 0  # the replay's HTTP status; 0 when it got none
    message: str = ""  # why it could not be replayed, when it could not


@dataclass(slots=True, kw_only=True)
class VerifyOnReload(Event):
    """Verify-on-reload was switched (``v``, or ``[tool.debugdash] verify-on-reload``)."""

    name: ClassVar[str] = "verify_on_reload"
    on: bool


#: A record as a row: its fields in this order. Records travel and are kept as rows
#: (a JSON array each on the wire, a list in the supervisor's memory); a ``RequestRecord``
#: is built only for a record someone looks at (``record_of``).
ROW_FIELDS: tuple[str, ...] = ("time", "id", "method", "path", "query", "status", "duration", "size",
                               "remote_addr", "pid", "error", "replay")
#: The types of a row's fields, in that order (a list at run time: JSON has no tuples).
Row = tuple[float, int, str, str, str, int, float, int, str, int, bool, str]
ROW_ID, ROW_STATUS, ROW_ERROR, ROW_REPLAY = 1, 5, 10, 11


def record_of(row: list) -> RequestRecord:
    """The record a row stands for."""
    return RequestRecord(**dict(zip(ROW_FIELDS, row)))


def row_of(record: RequestRecord) -> list:
    """``record`` as a row."""
    return [getattr(record, name) for name in ROW_FIELDS]


@dataclass(slots=True, kw_only=True)
class RequestRecords(Event):
    """The records of one batch from the agent, numbered for the session, published as one event.

    A busy server answers a thousand requests a second: as one event they are
    counted, stored and drawn once per batch, and every consumer that does not
    care passes them by with one type check. ``--json`` writes one ``request``
    line per record, in order. No ``name``: the supervisor makes it from a
    ``request_batch``; it is never read off the wire.
    """

    #: Rows (``ROW_FIELDS``), neutralised, in the order the requests ended.
    rows: list[Row] = field(default_factory=list)
    #: How many of them raised.
    failed: int = 0

    @property
    def records(self) -> list[RequestRecord]:
        return [record_of(row) for row in self.rows]
