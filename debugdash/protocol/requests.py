"""Requests as the agent hands them to the supervisor, with their real values.

Never published: a ``request_batch`` is unpacked by the supervisor, its records
published one by one (``request_events.RequestRecord``, secrets already redacted), its
captured requests kept in the supervisor's memory for detail, curl and replay,
where every face but the replay itself gets the redacted form (``redact``).

Standard library only, like the rest of ``protocol``.
"""

from __future__ import annotations

import base64
from typing import ClassVar

from debugdash.protocol import codec
from debugdash.protocol.events import Event, Reply
from debugdash.protocol.records import dataclass, field, fields  # dataclasses.dataclass, cheaper to create
from debugdash.protocol.request_events import RequestRecord
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
    """Records of the requests served lately, and the full requests of those that failed."""

    name: ClassVar[str] = "request_batch"
    records: list[RequestRecord] = field(default_factory=list)
    captured: list[CapturedRequest] = field(default_factory=list)
    pid: int = 0

    @classmethod
    def from_plain(cls, data: dict) -> RequestBatch:
        """``codec.build(RequestBatch, data)``, with the records (one per request served) built directly."""
        records = data.get("records", [])
        if type(records) is not list:
            return codec.build(cls, data)
        captured = data.get("captured", [])
        if type(captured) is not list:
            return codec.build(cls, data)
        batch = codec.build(cls, {k: v for k, v in data.items() if k not in ("records", "captured")})
        batch.records = [_record(item) for item in records]
        batch.captured = [_captured(item) for item in captured]
        return batch


_RECORD_FIELDS = frozenset(f.name for f in fields(RequestRecord))
_RECORD_TEXT = ("method", "path", "query", "remote_addr", "replay")


def _record(item: object) -> RequestRecord:
    """A record from its plain form as ``codec.build`` makes it (every string neutralised), when it has
    exactly the usual shape; anything else goes the generic way."""
    if type(item) is not dict or item.keys() != _RECORD_FIELDS or not _texts_neutralised(item, _RECORD_TEXT):
        return codec.build(RequestRecord, item)  # type: ignore[arg-type]
    return RequestRecord(**item)


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
