"""The supervisor's memory of requests: every record, and the full requests that failed.

The agent sends records in batches, as rows with the agent's own numbers;
``take_batch`` keeps the rows, renumbers them for the session (workers come and
go, the numbers a user types stay unique) and keeps the full requests of failed
ones — with their real values, for replay, in memory only and bounded in count
and bytes, so that verify-on-reload can replay them after the worker that
served them is gone.

Every face reads ``detail(...)`` (redacted unless revealed); only the replay
uses the real values (``captured``).
"""

from __future__ import annotations

import base64
import json
from collections import OrderedDict, deque
from dataclasses import replace

from debugdash.protocol.events import RequestError
from debugdash.protocol.request_events import ROW_ERROR, ROW_ID, ROW_REPLAY, ROW_STATUS, RequestRecord, RequestRecords, record_of
from debugdash.protocol.redact import redact_body, redact_headers, redact_query
from debugdash.protocol.records import dataclass  # dataclasses.dataclass, cheaper to create
from debugdash.protocol.requests import CapturedRequest, RequestBatch
from debugdash.protocol.text import neutralise

#: Records kept for the list (newest first); older ones are forgotten.
MAX_RECORDS = 5000
#: Full requests kept in the supervisor, by count and by bytes.
MAX_CAPTURED = 200
MAX_CAPTURED_BYTES = 16 * 1024 * 1024
#: Traceback events kept, linked to the requests that raised them.
MAX_ERRORS = 500
#: Agent numbers waiting for their record (an error arrives before its request's record).
_MAX_PENDING_IDS = 10_000

STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(slots=True)
class RequestDetail:
    """One request as a face shows it: redacted unless ``revealed``."""

    id: int
    record: RequestRecord | None
    request: CapturedRequest
    #: The traceback the request raised, when it did.
    error: RequestError | None
    revealed: bool = False

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def content_type(self) -> str:
        return self.request.header("Content-Type")

    def body_text(self, pretty: bool = True) -> str:
        """The body as text for display: JSON pretty-printed, anything else decoded with replacement."""
        text = self.request.body.decode("utf-8", "replace")
        if pretty and text and "json" in self.content_type.lower():
            try:
                text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
            except ValueError:
                pass
        return neutralise(text, multiline=True)


def redacted(request: CapturedRequest) -> CapturedRequest:
    """``request`` as every face but the replay sees it: secret values replaced."""
    path, sep, query = request.target.partition("?")
    body = request.body
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            shown = request.body64
        else:
            shown = base64.b64encode(redact_body(text, request.header("Content-Type")).encode()).decode()
    else:
        shown = ""
    return replace(
        request,
        target=path + sep + redact_query(query),
        headers=[[k, v] for k, v in redact_headers([(k, v) for k, v in request.headers])],
        body64=shown,
    )


class RequestStore:
    """Records of recent requests, their tracebacks, and the full requests that failed."""

    def __init__(self, *, max_records: int = MAX_RECORDS, max_captured: int = MAX_CAPTURED,
                 max_captured_bytes: int = MAX_CAPTURED_BYTES) -> None:
        #: Rows (``request_events.ROW_FIELDS``) by the session's number, oldest first.
        self._records: OrderedDict[int, list] = OrderedDict()
        self._max_records = max_records
        self._captured: OrderedDict[int, CapturedRequest] = OrderedDict()
        self._captured_bytes = 0
        self._max_captured = max_captured
        self._max_captured_bytes = max_captured_bytes
        self._errors: OrderedDict[int, RequestError] = OrderedDict()
        self._ids: OrderedDict[tuple[int, int], int] = OrderedDict()
        self._next = 1
        #: Records whose agent-side number is unknown here: the worker's own, by session id.
        self._agent_ids: dict[int, tuple[int, int]] = {}
        self.total = 0
        self.failed = 0
        self.replays: deque[RequestRecord] = deque(maxlen=100)

    # --- from the agent ----------------------------------------------------------

    def session_id(self, pid: int, agent_id: int) -> int:
        """The session's number for the request ``agent_id`` of process ``pid``.

        Kept after the request's record came (bounded): adaptive capture may send
        the request's traceback whole later than its record (issue 16), and it must
        name the same request.
        """
        key = (pid, agent_id)
        number = self._ids.get(key)
        if number is None:
            number = self._ids[key] = self._next
            self._next += 1
            while len(self._ids) > _MAX_PENDING_IDS:
                self._ids.popitem(last=False)
        return number

    def take_error(self, event: RequestError) -> None:
        """Renumber ``event.request_id`` for the session (before it is published) and link it."""
        if event.request_id:
            # Not yet published: nobody else holds this event, so it is changed in place.
            event.request_id = self.session_id(event.pid, event.request_id)
            self._errors[event.request_id] = event
            while len(self._errors) > MAX_ERRORS:
                self._errors.popitem(last=False)

    def take_batch(self, batch: RequestBatch) -> RequestRecords:
        """Keep what ``batch`` brings; its records, renumbered, as one event to publish.

        Rows are kept as they came (renumbered in place): no object per request
        until a face asks for one (``records``, ``record``).
        """
        pid = batch.pid
        for captured in batch.captured:
            captured.id = self.session_id(pid, captured.id)
            self.keep(captured)
        ids, kept, agent_ids = self._ids, self._records, self._agent_ids
        failed = 0
        for row in batch.rows:
            key = (pid, row[ROW_ID])
            number = ids.get(key)
            if number is None:  # ``session_id``, inline: nearly every record is new here
                number = ids[key] = self._next
                self._next += 1
            row[ROW_ID] = number
            agent_ids[number] = key
            kept[number] = row
            if row[ROW_ERROR]:
                failed += 1
            if row[ROW_REPLAY]:
                self.replays.append(record_of(row))
        self.total += len(batch.rows)
        self.failed += failed
        while len(kept) > self._max_records:
            old, _ = kept.popitem(last=False)
            agent_ids.pop(old, None)
        while len(ids) > _MAX_PENDING_IDS:
            ids.popitem(last=False)
        return RequestRecords(time=batch.time, rows=batch.rows, failed=failed)

    def keep(self, captured: CapturedRequest) -> None:
        """Hold a full request in memory (bounded: the oldest go first)."""
        previous = self._captured.pop(captured.id, None)
        if previous is not None:
            self._captured_bytes -= previous.size
        self._captured[captured.id] = captured
        self._captured_bytes += captured.size
        while self._captured and (len(self._captured) > self._max_captured or self._captured_bytes > self._max_captured_bytes):
            _, old = self._captured.popitem(last=False)
            self._captured_bytes -= old.size

    # --- for the faces -------------------------------------------------------------

    def records(self, *, errors: bool = False, status_class: str | None = None, text: str = "",
                limit: int | None = None) -> list[RequestRecord]:
        """Recent records, newest first: only failed ones with ``errors``, only ``"5xx"``
        (etc.) with ``status_class``, only those whose method, path or query contain ``text``."""
        digit = int(status_class[0]) if status_class else None
        needle = text.lower()
        found: list[RequestRecord] = []
        for row in reversed(self._records.values()):
            status = row[ROW_STATUS]
            if errors and not (row[ROW_ERROR] or status >= 500):
                continue
            if digit is not None and status // 100 != digit:
                continue
            if needle and needle not in f"{row[2]} {row[3]}?{row[4]}".lower():
                continue
            found.append(record_of(row))
            if limit is not None and len(found) >= limit:
                break
        return found

    def record(self, request_id: int) -> RequestRecord | None:
        row = self._records.get(request_id)
        return record_of(row) if row is not None else None

    def error(self, request_id: int) -> RequestError | None:
        """The traceback request ``request_id`` raised, when it did and it is still kept."""
        return self._errors.get(request_id)

    def captured(self, request_id: int) -> CapturedRequest | None:
        """The full request with its real values (for replay only), when the supervisor holds it."""
        return self._captured.get(request_id)

    def agent_key(self, request_id: int) -> tuple[int, int] | None:
        """(pid, the agent's number) of a record: how to ask its worker for the full request."""
        return self._agent_ids.get(request_id)

    def detail(self, request_id: int, request: CapturedRequest, *, reveal: bool = False) -> RequestDetail:
        """What a face shows of ``request`` (redacted unless ``reveal``)."""
        return RequestDetail(
            id=request_id,
            record=self.record(request_id),
            request=request if reveal else redacted(request),
            error=self.error(request_id),
            revealed=reveal,
        )

    def counts(self) -> dict[str, int]:
        return {"total": self.total, "failed": self.failed, "kept": len(self._records), "captured": len(self._captured)}
