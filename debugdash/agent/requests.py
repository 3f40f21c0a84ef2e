"""A record of every request, cheap enough for every request.

``RequestRecorder`` is the outermost WSGI middleware. On the request's thread
it only notes what it must (its number, the clock, the status, the body's
size, a copy of the environ's strings, the first 64 KB of the request body)
and appends one tuple to a queue; a daemon thread turns the queue into a
``request_batch`` at most every ``INTERVAL`` seconds, and only when something
was queued (an idle worker's thread sleeps until a request ends): the records (secret query values
redacted), the full requests of those that raised or answered 5xx (they go to
the supervisor, which keeps them for replay after this worker is gone), and
every request into a ring bounded in count and bytes, from which the
supervisor can fetch one that succeeded when a user selects it.

A replay carries ``X-Debugdash-Replay``: it is taken out here, before the app
sees the request, and its value put on the record.
"""

from __future__ import annotations

import atexit
import base64
import collections
import io
import itertools
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from debugdash.agent.tracebacks import drop_own_frame
from debugdash.protocol.events import Event
from debugdash.protocol.redact import redact_query
from debugdash.protocol.requests import MAX_BODY, REPLAY_ENVIRON, CapturedRequest, FetchedRequest, RequestBatch

#: Environ keys the other parts of the agent read: this request's number, and "it raised".
REQUEST_ID_KEY = "debugdash.request_id"
RAISED_KEY = "debugdash.raised"
#: Seconds between batches: the dashboard shows a request this long after it ended, at most.
INTERVAL = 0.05
#: Full requests kept in this process, by count and by bytes.
RING_COUNT = 500
RING_BYTES = 8 * 1024 * 1024
#: Requests waiting for the batch thread; beyond this they are counted, not kept.
MAX_PENDING = 20_000

_now = time.perf_counter


class RequestRecorder:
    """The middleware, the queue and the thread that sends batches."""

    def __init__(self, emit: Callable[[Event], None], pid: int | None = None) -> None:
        self._emit = emit
        self.pid = os.getpid() if pid is None else pid
        self._count = itertools.count(1)
        self._pending: collections.deque[tuple] = collections.deque()
        #: Set by the first request queued after a batch: the batch thread sleeps until then.
        self._queued = threading.Event()
        self.ring = RequestRing()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._flushing = threading.Lock()  # the batch thread, and a fetch that must see the latest
        self.lost = 0

    def wrap(self, app: Callable) -> Callable:
        """``app`` with every request recorded; starts the batch thread."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="debugdash-requests", daemon=True)
                self._thread.start()
                # Registered after the link's own flush, so it runs before it: a reload's last
                # requests (a failure the next worker will be asked to verify) still go out.
                atexit.register(self.flush)
        recorder = self

        def recorded(environ: dict, start_response: Callable) -> Iterable[bytes]:
            __traceback_hide__ = True  # noqa: F841 (see CaptureMiddleware)
            try:
                return _Exchange(recorder, app, environ, start_response).run()
            except BaseException as e:
                drop_own_frame(e, sys._getframe())
                raise

        return recorded

    def done(self, entry: tuple) -> None:
        """A request ended (called on its thread): queue its entry for the batch thread."""
        if len(self._pending) < MAX_PENDING:
            self._pending.append(entry)
            if not self._queued.is_set():  # a plain read: only the first request of a batch pays for set()
                self._queued.set()
        else:
            self.lost += 1

    def fetch(self, query: Any) -> FetchedRequest:
        """Answer ``FetchRequest``: the full request from the ring, when this process served it and still has it."""
        if query.pid != self.pid:
            return FetchedRequest(request=None)
        self.flush()  # it may have ended a moment ago, its entry still queued
        return FetchedRequest(request=self.ring.get(query.number))

    # --- the batch thread ----------------------------------------------------------

    def _loop(self) -> None:
        while True:
            self._queued.wait()
            # Wait a little for the requests that end meanwhile: one batch for a burst.
            time.sleep(INTERVAL)
            # Cleared before the queue is emptied: a request queued after this sets it again.
            self._queued.clear()
            self.flush()

    def flush(self) -> None:
        """Send what is queued as one batch (also called at exit)."""
        pending = self._pending
        if not pending:
            return
        with self._flushing:
            self._flush(pending)

    def _flush(self, pending: collections.deque[tuple]) -> None:
        rows: list[list] = []
        captured: list[CapturedRequest] = []
        pid = self.pid
        ring = self.ring
        while pending:
            try:
                number, when, duration, status, size, raised, replay, strings, body, truncated = pending.popleft()
            except IndexError:
                break
            get = strings.get
            # One row per request (``request_events.ROW_FIELDS``): no object, one array on the wire.
            rows.append([when, number, get("REQUEST_METHOD", ""), get("SCRIPT_NAME", "") + get("PATH_INFO", ""),
                         redact_query(get("QUERY_STRING", "")), status, duration, size, get("REMOTE_ADDR", ""),
                         pid, raised, replay])
            ring.add(number, strings, body, truncated)
            if raised or status >= 500:
                captured.append(_captured(number, strings))
        try:
            self._emit(RequestBatch(rows=rows, captured=captured, pid=pid))
        except Exception:
            pass  # a record that cannot be sent is lost, never the request


class _Exchange:
    """One request on its way through: the status and size of its answer, as it goes."""

    __slots__ = ("recorder", "app", "environ", "start_response", "number", "started", "status", "size", "raised",
                 "body", "truncated", "strings", "replay", "_iterable", "_done")

    def __init__(self, recorder: RequestRecorder, app: Callable, environ: dict, start_response: Callable) -> None:
        self.recorder = recorder
        self.app = app
        self.environ = environ
        self.start_response = start_response
        self.number = next(recorder._count)
        self.started = _now()
        self.status = 0
        self.size = 0
        self.raised = False
        self.body: Any = b""
        self.truncated = False
        self._iterable: Any = None
        self._done = False

    def run(self) -> Any:
        __traceback_hide__ = True  # noqa: F841
        environ = self.environ
        self.replay = environ.pop(REPLAY_ENVIRON, "")
        # The request as it came (method, target, headers, peer), before the app can change it.
        # Its text only: a dict of strings is one the garbage collector never tracks, and the
        # ring keeps the last 500 of them. A copy of the environ (which holds the socket and
        # streams) was tracked, lived on into the oldest generation and, three objects per
        # request with its ring entry, made the worker's full collections three times as
        # frequent as under plain ``flask run`` (gc callbacks, /json: 37.5 µs of collection per request, plain 16.5).
        self.strings = {key: value for key, value in environ.items() if type(value) is str}
        environ[REQUEST_ID_KEY] = self.number
        length = environ.get("CONTENT_LENGTH")
        if length and length != "0" or environ.get("wsgi.input_terminated"):
            self._keep_body(length)
        try:
            self._iterable = self.app(environ, self._start_response)
        except BaseException as e:
            self.raised = True
            self.status = self.status or 500
            self._finish()
            drop_own_frame(e, sys._getframe())
            raise
        return self

    def _start_response(self, status: str, headers: list, exc_info: Any = None) -> Any:
        try:
            self.status = int(status[:3])
        except ValueError:
            self.status = 0
        if exc_info is None:
            return self.start_response(status, headers)
        return self.start_response(status, headers, exc_info)

    def __iter__(self) -> Iterator[bytes]:
        size = 0
        try:
            for chunk in self._iterable:
                size += len(chunk)
                yield chunk
        except BaseException as e:
            self.raised = True
            drop_own_frame(e, sys._getframe())
            raise
        finally:
            self.size += size
            # The request is over when its body is: Werkzeug's server skips close()
            # when the client hangs up as the response ends (its drain read fails),
            # and the record was lost with it.
            self._finish()

    def close(self) -> None:
        # Let go of the body: the gate's wrapper of it holds our start_response, a cycle that
        # left this exchange, the body and the request's contexts to the garbage collector.
        iterable, self._iterable = self._iterable, None
        try:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        finally:
            self._finish()

    def _finish(self) -> None:
        if self._done:
            return
        self._done = True
        environ = self.environ
        body = self.body
        if isinstance(body, _TeeInput):
            body, self.truncated = body.kept()
        self.recorder.done(
            (self.number, time.time(), _now() - self.started, self.status, self.size,
             self.raised or bool(environ.get(RAISED_KEY)), self.replay, self.strings, body, self.truncated)
        )

    def _keep_body(self, length: str | None) -> None:
        environ = self.environ
        stream = environ.get("wsgi.input")
        if stream is None:
            return
        try:
            size = int(length) if length else -1
        except ValueError:
            return
        if 0 < size <= MAX_BODY:
            # Small enough to read now: the app reads the same bytes from memory,
            # and a request that fails before reading its body still has it here.
            data = stream.read(size)
            self.body = data
            environ["wsgi.input"] = io.BytesIO(data)
        else:
            tee = _TeeInput(stream)
            self.body = tee
            environ["wsgi.input"] = tee


class _TeeInput:
    """The request body as the app reads it, its first 64 KB kept on the side."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._kept = bytearray()
        self._truncated = False

    def _keep(self, data: bytes) -> bytes:
        room = MAX_BODY - len(self._kept)
        if room > 0:
            self._kept += data[:room]
        if len(data) > room:
            self._truncated = True
        return data

    def read(self, *args: Any) -> bytes:
        return self._keep(self._stream.read(*args))

    def readline(self, *args: Any) -> bytes:
        return self._keep(self._stream.readline(*args))

    def readlines(self, *args: Any) -> list[bytes]:
        return [self._keep(line) for line in self._stream.readlines(*args)]

    def __iter__(self) -> Iterator[bytes]:
        for line in self._stream:
            yield self._keep(line)

    def kept(self) -> tuple[bytes, bool]:
        return bytes(self._kept), self._truncated


def _captured(number: int, environ: dict[str, Any]) -> CapturedRequest:
    """The full request of a ring entry, as the supervisor keeps it."""
    get = environ.get
    query = get("QUERY_STRING", "")
    path = get("SCRIPT_NAME", "") + get("PATH_INFO", "")
    target = get("REQUEST_URI") or get("RAW_URI") or (path + ("?" + query if query else ""))
    body = get(_BODY, b"")
    return CapturedRequest(
        id=number,
        method=get("REQUEST_METHOD", ""),
        target=target,
        headers=_headers(environ),
        body64=base64.b64encode(body).decode("ascii") if body else "",
        body_truncated=bool(get(_TRUNCATED, False)),
        remote_addr=get("REMOTE_ADDR", ""),
        scheme=get("wsgi.url_scheme", "http"),
    )


def _headers(environ: dict[str, Any]) -> list[list[str]]:
    """The request's headers from the environ, names spelt the usual way (the environ lost the client's spelling)."""
    headers = []
    for key, value in environ.items():
        if type(value) is not str:
            continue
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key
            if not value:
                continue
        else:
            continue
        headers.append(["-".join(part.capitalize() for part in name.split("_")), value])
    return headers


#: Where a ring entry (the request's strings) keeps its body and size: bytes, a bool and an int,
#: so the entry stays a dict the garbage collector does not track.
_BODY = "debugdash.body"
_TRUNCATED = "debugdash.body_truncated"
_SIZE = "debugdash.size"


class RequestRing:
    """The latest requests of this process, bounded in count and bytes (thread-safe).

    Entries stay as the batch thread got them (the environ's strings and the body);
    a ``CapturedRequest`` is built only for the one a user selects.
    """

    def __init__(self, count: int = RING_COUNT, size: int = RING_BYTES) -> None:
        self._items: collections.OrderedDict[int, dict[str, Any]] = collections.OrderedDict()
        self._bytes = 0
        self._count = count
        self._size = size
        self._lock = threading.Lock()

    def add(self, number: int, strings: dict[str, str], body: bytes, truncated: bool) -> None:
        """Keep request ``number`` (its environ's strings, which become the entry, and its body);
        the oldest go when over a bound."""
        size = len(body) + 64 * len(strings) + len("".join(strings.values()))
        strings[_BODY] = body
        strings[_TRUNCATED] = truncated
        strings[_SIZE] = size
        with self._lock:
            self._items[number] = strings
            self._bytes += size
            while self._items and (len(self._items) > self._count or self._bytes > self._size):
                _, old = self._items.popitem(last=False)
                self._bytes -= old[_SIZE]

    def get(self, number: int) -> CapturedRequest | None:
        with self._lock:
            entry = self._items.get(number)
        return _captured(number, entry) if entry is not None else None

    def __len__(self) -> int:
        return len(self._items)
