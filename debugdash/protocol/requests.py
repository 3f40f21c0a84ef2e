"""Requests as the agent hands them to the supervisor, with their real values.

Never published: a ``request_batch`` is unpacked by the supervisor, its records
published as one ``request_events.RequestRecords`` (secrets already redacted), its
captured requests kept in the supervisor's memory for detail, curl and replay,
where every face but the replay itself gets the redacted form (``redact``).

Standard library only, like the rest of ``protocol``.
"""

from __future__ import annotations

import base64
import operator
import typing
from typing import ClassVar

from debugdash.protocol import codec
from debugdash.protocol.events import Event, Reply
from debugdash.protocol.records import dataclass, field, fields  # dataclasses.dataclass, cheaper to create
from debugdash.protocol.request_events import ROW_FIELDS, RequestRecord, Row, record_of, row_of
from debugdash.protocol.text import neutralise

#: The header debugdash marks a replay with; the agent takes it out before the app sees the request.
REPLAY_HEADER = "X-Debugdash-Replay"
REPLAY_ENVIRON = "HTTP_X_DEBUGDASH_REPLAY"
#: Longest body kept of one request.
MAX_BODY = 64 * 1024


@dataclass(slots=True)
class CapturedRequest:
    """A whole request as it arrived: enough to show it and to send it again."""

    id: int  # the RequestRecord's id (the agent's count until the supervisor renumbers it)
    method: str
    #: The request target as sent (path and query, still percent-encoded).
    target: str
    headers: list[list[str]] = field(default_factory=list)  # [name, value] pairs, in order
    #: The body, base64 (bytes of any kind survive the JSON line unchanged).
    body64: str = ""
    body_truncated: bool = False
    remote_addr: str = ""
    scheme: str = "http"

    @property
    def body(self) -> bytes:
        return base64.b64decode(self.body64) if self.body64 else b""

    def header(self, name: str) -> str:
        """The first value of header ``name`` (any case), or ""."""
        lower = name.lower()
        return next((value for key, value in self.headers if key.lower() == lower), "")

    @property
    def size(self) -> int:
        """Bytes this takes in memory, roughly: what the bounded stores count."""
        return len(self.target) + len(self.body64) + sum(len(k) + len(v) + 2 for k, v in self.headers) + 64


@dataclass(slots=True, kw_only=True)
class RequestBatch(Event):
    """Records of the requests served lately, and the full requests of those that failed.

    The records are rows (``request_events.ROW_FIELDS``): one JSON array each on
    the wire, kept as lists by the supervisor, so a batch of a thousand requests is
    one ``json.loads`` and no object per request until someone looks at one.
    """

    name: ClassVar[str] = "request_batch"
    rows: list[Row] = field(default_factory=list)
    captured: list[CapturedRequest] = field(default_factory=list)
    pid: int = 0

    @classmethod
    def of(cls, records: list[RequestRecord], **fields: object) -> RequestBatch:
        """A batch of ``records`` (as objects: tests, and whoever holds them so)."""
        return cls(rows=[row_of(record) for record in records], **fields)  # type: ignore[arg-type]

    @property
    def records(self) -> list[RequestRecord]:
        return [record_of(row) for row in self.rows]

    @classmethod
    def from_plain(cls, data: dict) -> RequestBatch:
        """The batch from its plain form, every row checked and its text neutralised as ``codec.build``
        would do to a record; ValueError when a row is not a record."""
        rows = data.get("rows", [])
        captured = data.get("captured", [])
        if type(rows) is not list or type(captured) is not list:
            raise ValueError("rows and captured must be lists")
        batch = codec.build(cls, {k: v for k, v in data.items() if k not in ("rows", "captured")})
        batch.rows = [row if tuple(map(type, row)) == _ROW_TYPES and _row_neutral(row) else _checked_row(row)
                      for row in rows]
        batch.captured = [_captured(item) for item in captured]
        return batch


_ROW_TYPES = typing.get_args(Row)
_ROW_TEXT = operator.itemgetter(*(i for i, kind in enumerate(_ROW_TYPES) if kind is str))


def _row_neutral(row: list) -> bool:
    """True when the row's text is already neutral (the common case: one check for all of it)."""
    return "".join(_ROW_TEXT(row)).isprintable()


def _checked_row(row: object) -> list:
    """A row that is not plainly a record: numbers coerced, text neutralised; ValueError when it cannot be one."""
    if type(row) is not list or len(row) != len(ROW_FIELDS):
        raise ValueError(f"a request row has {len(ROW_FIELDS)} fields")
    checked = []
    for value, kind in zip(row, _ROW_TYPES):
        if kind is str:
            if type(value) is not str:
                raise ValueError("a request row's text is not text")
            value = neutralise(value)
        elif kind is float and type(value) in (int, float) or kind is int and type(value) is int:
            value = kind(value)
        elif kind is bool and type(value) is bool:
            pass
        else:
            raise ValueError(f"a request row's {kind.__name__} is a {type(value).__name__}")
        checked.append(value)
    return checked


def _texts_neutralised(item: dict, keys: tuple[str, ...]) -> bool:
    """Neutralise ``item``'s text fields in place, as ``codec.build`` would; False when one is not text."""
    for key in keys:
        value = item[key]
        if type(value) is not str:
            return False
        if not value.isprintable():
            item[key] = neutralise(value)
    return True


_CAPTURED_FIELDS = frozenset(f.name for f in fields(CapturedRequest))
_CAPTURED_TEXT = ("method", "target", "body64", "remote_addr", "scheme")


def _captured(item: object) -> CapturedRequest:
    """A captured request from its plain form as ``codec.build`` makes it (every string neutralised), when
    it has exactly the usual shape; anything else goes the generic way. One comes with every failing request."""
    if type(item) is not dict or item.keys() != _CAPTURED_FIELDS or not _texts_neutralised(item, _CAPTURED_TEXT):
        return codec.build(CapturedRequest, item)  # type: ignore[arg-type]
    headers = item["headers"]
    if type(headers) is not list:
        return codec.build(CapturedRequest, item)
    for pair in headers:
        if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not str or type(pair[1]) is not str:
            return codec.build(CapturedRequest, item)
        if not (pair[0].isprintable() and pair[1].isprintable()):
            pair[0], pair[1] = neutralise(pair[0]), neutralise(pair[1])
    return CapturedRequest(**item)


@dataclass(slots=True, kw_only=True)
class FetchedRequest(Reply):
    """The answer to ``commands.FetchRequest``: the request, or None when the ring let it go."""

    name: ClassVar[str] = "fetched_request"
    request: CapturedRequest | None = None
