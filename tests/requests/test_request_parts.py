"""The parts behind the Requests features, alone: the redaction rules, the batch's fast
encoding, the supervisor's store (numbers, filters, bounds), curl commands, the agent's
record middleware and ring."""

from __future__ import annotations

import base64
import gc
import io
import json
import os
import shlex

import pytest

from debugdash.agent.request_encoding import batch_json
from debugdash.agent.requests import RAISED_KEY, REQUEST_ID_KEY, RequestRecorder, RequestRing
from debugdash.core.replay import curl_command
from debugdash.core.requests import RequestStore, redacted
from debugdash.core.verify import Verifier
from debugdash.protocol import codec, commands
from debugdash.protocol.codec import encode
from debugdash.protocol.events import Ready, Reload, RequestError
from debugdash.protocol.request_events import RequestRecord
from debugdash.protocol.redact import REDACTED, is_secret_name, redact_body, redact_headers, redact_query
from debugdash.protocol.requests import MAX_BODY, CapturedRequest, RequestBatch


# --- redaction ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["password", "passwd", "user_password", "secret", "client_secret", "token", "access_token", "api_key",
             "apiKey", "X-Api-Key", "session", "sessionid", "csrf_token", "csrfmiddlewaretoken", "auth", "oauth_verifier",
             "secret_token"],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["user", "count", "page", "path", "email", "q", "passenger", "compass"])
def test_plain_names(name: str) -> None:
    assert not is_secret_name(name)


def test_headers_query_form_json_and_multipart_are_redacted_by_name() -> None:
    headers = [("Authorization", "Bearer abc"), ("Cookie", "sid=1"), ("X-Api-Key", "k"), ("Accept", "*/*"),
               ("X-Session-Id", "s"), ("Proxy-Authorization", "Basic x"), ("Set-Cookie", "a=b")]
    assert redact_headers(headers) == [
        ("Authorization", REDACTED), ("Cookie", REDACTED), ("X-Api-Key", REDACTED), ("Accept", "*/*"),
        ("X-Session-Id", REDACTED), ("Proxy-Authorization", REDACTED), ("Set-Cookie", REDACTED),
    ]
    assert redact_query("a=1&token=xyz&b=&password") == "a=1&token=%5Bredacted%5D&b=&password"
    assert redact_query("api%5Fkey=v") == "api%5Fkey=%5Bredacted%5D"
    form = redact_body("user=ann&password=hunter2", "application/x-www-form-urlencoded; charset=utf-8")
    assert form == "user=ann&password=%5Bredacted%5D"
    assert json.loads(redact_body('{"a": {"api_key": "k", "list": [{"secret": 1}]}, "n": 2}', "application/json")) == {
        "a": {"api_key": REDACTED, "list": [{"secret": REDACTED}]},
        "n": 2,
    }
    cut = redact_body('{"user": "ann", "password": "hunter2", "note": "x', "application/json")
    assert "hunter2" not in cut and '"user": "ann"' in cut
    multipart = (
        '--b\r\nContent-Disposition: form-data; name="user"\r\n\r\nann\r\n'
        '--b\r\nContent-Disposition: form-data; name="password"\r\n\r\nhunter2\r\n--b--\r\n'
    )
    shown = redact_body(multipart, "multipart/form-data; boundary=b")
    assert "hunter2" not in shown and "ann" in shown


def test_a_captured_request_is_redacted_whole_and_the_real_one_is_untouched() -> None:
    real = CapturedRequest(
        id=1, method="POST", target="/login?token=t1&x=1",
        headers=[["Authorization", "Bearer abc123"], ["Content-Type", "application/x-www-form-urlencoded"]],
        body64=base64.b64encode(b"user=ann&password=hunter2").decode(),
    )
    shown = redacted(real)
    text = json.dumps([shown.target, shown.headers, shown.body.decode()])
    assert "abc123" not in text and "hunter2" not in text and "t1" not in text
    assert real.header("authorization") == "Bearer abc123" and b"hunter2" in real.body


# --- the wire ---------------------------------------------------------------------


def _record(**fields) -> RequestRecord:
    base = dict(time=1700000000.25, id=7, method="GET", path="/ünï\u2028\x1b[31m", query="a=1&b=\"2\"", status=200,
                duration=0.0012345, size=10, remote_addr="127.0.0.2", pid=42, error=False, replay="")
    return RequestRecord(**{**base, **fields})


def test_the_batch_fast_encoding_is_byte_equal_to_the_codec() -> None:
    batch = RequestBatch.of(
        [_record(), _record(id=8, error=True, status=500, replay="ab12"), _record(id=9, duration=3.0)],
        time=1700000001.5,
        captured=[CapturedRequest(id=8, method="GET", target="/x", headers=[["A", "b"]], body64="eA==", remote_addr="::1")],
        pid=42,
    )
    assert batch_json(batch) == encode(batch)
    empty = RequestBatch(time=2.0, pid=1)
    assert batch_json(empty) == encode(empty)
    decoded = commands.decode(batch_json(batch))
    assert isinstance(decoded, RequestBatch) and decoded.records[1].replay == "ab12"
    assert decoded.captured[0].body == b"x"


# --- the supervisor's store ---------------------------------------------------------


def _batch(pid: int, *numbers: int, failed: tuple[int, ...] = ()) -> RequestBatch:
    records = [_record(id=n, pid=pid, path=f"/p{n}", status=500 if n in failed else 200, error=n in failed) for n in numbers]
    captured = [CapturedRequest(id=n, method="GET", target=f"/p{n}") for n in failed]
    return RequestBatch.of(records, captured=captured, pid=pid)


def test_the_store_numbers_requests_for_the_session_and_links_errors() -> None:
    store = RequestStore()
    error = RequestError(method="GET", path="/p2", remote_addr="127.0.0.1", chain=[], pid=10, request_id=2)
    store.take_error(error)  # a traceback arrives before its request's record
    first = store.take_batch(_batch(10, 1, 2, failed=(2,))).records
    second = store.take_batch(_batch(11, 1)).records  # another worker counts from 1 again
    numbers = [r.id for r in first + second]
    assert len(set(numbers)) == 3
    failed = next(r for r in first if r.error)
    assert error.request_id == failed.id
    assert store.error(failed.id) is error
    assert store.captured(failed.id).target == "/p2"
    assert store.agent_key(second[0].id) == (11, 1)
    assert [r.id for r in store.records()] == [second[0].id, *(r.id for r in reversed(first))]
    assert [r.path for r in store.records(errors=True)] == ["/p2"]
    assert [r.path for r in store.records(status_class="5xx")] == ["/p2"]
    assert [r.path for r in store.records(text="P1")] == ["/p1", "/p1"]
    assert len(store.records(limit=1)) == 1
    assert store.counts()["total"] == 3 and store.counts()["failed"] == 1


def test_the_store_is_bounded_in_records_and_in_captured_bytes() -> None:
    store = RequestStore(max_records=50, max_captured=1000, max_captured_bytes=20_000)
    for start in range(0, 1000, 10):
        store.take_batch(_batch(1, *range(start + 1, start + 11), failed=tuple(range(start + 1, start + 11))))
    assert len(store.records()) == 50
    assert store.counts()["total"] == 1000
    assert store.counts()["captured"] * CapturedRequest(id=1, method="GET", target="/p100").size <= 20_000
    big = CapturedRequest(id=5000, method="POST", target="/", body64="A" * 30_000)
    store.keep(big)
    assert store.captured(5000) is None  # alone over the byte bound: not kept at all


# --- curl --------------------------------------------------------------------------------


def test_curl_commands_parse_back_to_the_request() -> None:
    request = CapturedRequest(
        id=1, method="POST", target="/api?q=it's",
        headers=[["Host", "127.0.0.1:5000"], ["Content-Type", "application/json"], ["Content-Length", "9"],
                 ["X-Note", "a 'quoted' $HOME"]],
        body64=base64.b64encode(b'{"a": 1}\n').decode(),
    )
    argv = shlex.split(curl_command(request, "http://127.0.0.1:5000").replace("\\\n", " "))
    assert argv == ["curl", "-X", "POST", "http://127.0.0.1:5000/api?q=it's", "-H", "Content-Type: application/json",
                    "-H", "X-Note: a 'quoted' $HOME", "--data-binary", '{"a": 1}\n']
    head = CapturedRequest(id=2, method="HEAD", target="/", headers=[["Host", "myhost.test:5000"]])
    assert shlex.split(curl_command(head, "http://127.0.0.1:5000").replace("\\\n", " ")) == [
        "curl", "--head", "http://127.0.0.1:5000/", "-H", "Host: myhost.test:5000"]


# --- the agent's middleware and ring ---------------------------------------------------------


def _environ(body: bytes = b"", **extra: str) -> dict:
    environ = {"REQUEST_METHOD": "POST" if body else "GET", "PATH_INFO": "/x", "QUERY_STRING": "password=p",
               "REMOTE_ADDR": "127.0.0.2", "HTTP_AUTHORIZATION": "Bearer abc", "wsgi.input": io.BytesIO(body),
               "wsgi.url_scheme": "http", **extra}
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
        environ["CONTENT_TYPE"] = "text/plain"
    return environ


def _serve(app, environ: dict) -> tuple[list[bytes], list[str]]:
    statuses: list[str] = []
    body = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    try:
        return list(body), statuses
    finally:
        body.close()


def test_the_recorder_records_status_size_and_the_replay_mark_and_keeps_real_values() -> None:
    sent: list[RequestBatch] = []
    recorder = RequestRecorder(sent.append, pid=5)

    def app(environ, start_response):
        seen.append((environ.get("HTTP_X_DEBUGDASH_REPLAY"), environ["wsgi.input"].read(), environ[REQUEST_ID_KEY]))
        start_response("201 CREATED", [])
        return [b"ab", b"cde"]

    seen: list = []
    wrapped = recorder.wrap(app)
    chunks, _ = _serve(wrapped, _environ(b"x" * 10, HTTP_X_DEBUGDASH_REPLAY="m1"))
    assert chunks == [b"ab", b"cde"]
    assert seen == [(None, b"x" * 10, 1)]  # the app never sees the mark; it reads the whole body
    recorder.flush()
    (record,) = [r for batch in sent for r in batch.records]
    assert (record.status, record.size, record.replay, record.query, record.error) == (201, 5, "m1", f"password=%5Bredacted%5D", False)
    kept = recorder.ring.get(1)
    assert kept.header("Authorization") == "Bearer abc" and kept.body == b"x" * 10 and kept.target == "/x?password=p"


def test_a_request_that_raises_is_recorded_as_a_500_and_sent_whole() -> None:
    sent: list[RequestBatch] = []
    recorder = RequestRecorder(sent.append, pid=5)

    def app(environ, start_response):
        environ[RAISED_KEY] = True
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        recorder.wrap(app)(_environ(), lambda *a: None)
    recorder.flush()
    (batch,) = sent
    assert batch.records[0].status == 500 and batch.records[0].error
    assert batch.captured[0].header("Authorization") == "Bearer abc"


def test_a_big_body_is_kept_up_to_64_kb_as_the_app_reads_it() -> None:
    recorder = RequestRecorder(lambda batch: None, pid=5)
    body = b"y" * (MAX_BODY + 100)

    def app(environ, start_response):
        assert environ["wsgi.input"].read() == body
        start_response("200 OK", [])
        return []

    _serve(recorder.wrap(app), _environ(body))
    recorder.flush()
    kept = recorder.ring.get(1)
    assert len(kept.body) == MAX_BODY and kept.body_truncated


def test_the_ring_is_bounded_in_count_and_bytes() -> None:
    ring = RequestRing(count=10, size=5_000)
    for n in range(1, 101):
        ring.add(n, {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "HTTP_COOKIE": "c" * 300}, b"b" * 100, False)
    kept = [n for n in range(1, 101) if ring.get(n) is not None]
    assert kept and kept[-1] == 100 and len(kept) <= 10
    assert len(kept) * 400 <= 5_000  # each entry is over 400 bytes: the byte bound decides here
    assert ring.get(100).header("Cookie") == "c" * 300 and ring.get(100).body == b"b" * 100


def test_the_requests_the_ring_keeps_give_the_garbage_collector_nothing_to_walk() -> None:
    """The worker keeps its last 500 requests; objects the collector tracks would age into its oldest
    generation and make every full collection of the app's process more frequent (issue 12, cost)."""
    recorder = RequestRecorder(lambda batch: None, pid=5)
    wrapped = recorder.wrap(lambda environ, start_response: start_response("200 OK", []) or [b"ok"])
    _serve(wrapped, _environ())  # the batch thread and the first of everything exist
    recorder.flush()
    gc.collect()
    before = len(gc.get_objects())
    for _ in range(300):
        _serve(wrapped, _environ(b"body"))
    recorder.flush()
    gc.collect()
    assert len(recorder.ring) == 301
    assert len(gc.get_objects()) - before < 30
    assert recorder.ring.get(301).header("Authorization") == "Bearer abc" and recorder.ring.get(301).body == b"body"


def test_a_request_through_the_agents_middlewares_leaves_no_cycle_behind(monkeypatch) -> None:
    """What the agent wraps around each request is freed when the request ends, not left to the
    garbage collector (whose collections the app's worker pays for)."""
    import werkzeug.debug
    from werkzeug.debug import tbtools

    from debugdash.agent.gate import DebuggerGate
    from debugdash.agent.request_errors import CaptureMiddleware, ErrorReporter

    # The gate's debugger installs debugdash's page into Werkzeug: undone after the test.
    monkeypatch.setattr(tbtools.DebugFrameSummary, "is_library", tbtools.DebugFrameSummary.__dict__["is_library"])
    monkeypatch.setattr(werkzeug.debug, "DebugTraceback", werkzeug.debug.DebugTraceback)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    recorder = RequestRecorder(lambda batch: None, pid=5)
    captured = CaptureMiddleware(app, ErrorReporter(lambda event: None))
    gate = DebuggerGate(debugger=True, owner=os.getuid())  # on: a loopback request takes the gate's longest path
    served = recorder.wrap(gate.wrap(captured, captured, "127.0.0.1"))
    gc.collect()
    gc.disable()
    try:
        for _ in range(50):
            assert _serve(served, _environ(REMOTE_ADDR="127.0.0.1")) == ([b"ok"], ["200 OK"])
        recorder.flush()
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_a_batch_decodes_exactly_as_the_generic_codec_would_build_its_records() -> None:
    hostile = _record(path="/\x1b]52;c;x\x07\u202e", method="G\nET", remote_addr="127.0.0.1\x9b", replay="\t")
    line = batch_json(RequestBatch.of([_record(), hostile], time=3.0, pid=9))
    decoded = commands.decode(line).records
    for record, sent in zip(decoded, [_record(), hostile]):
        data = sent.to_dict()
        data.pop("event")
        assert record == codec.build(RequestRecord, data)
    assert "\x1b" not in decoded[1].path and "\x07" not in decoded[1].path and "\u202e" not in decoded[1].path
    assert "\n" not in decoded[1].method and "\x9b" not in decoded[1].remote_addr


@pytest.mark.parametrize("row", [
    '[2.0,1,"GET",["/a"],"",200,0.1,1,"x",2,false,""]',  # a list for text
    '[2.0,1,"GET","/a","",200,0.1,1,"x",2,false]',  # a field short
    '[2.0,1,"GET","/a","",200,0.1,1,"x",2,false,"",1]',  # one too many
    '[2.0,1,"GET","/a","","200",0.1,1,"x",2,false,""]',  # a status as text
    '{"time":2.0}',
])
def test_a_batch_with_a_row_that_is_not_a_record_is_refused(row: str) -> None:
    line = f'{{"event":"request_batch","time":1.0,"rows":[{row}],"captured":[],"pid":2}}\n'.encode()
    with pytest.raises(codec.EventFormatError):
        commands.decode(line)


def test_a_row_with_whole_numbers_for_times_is_read_as_the_codec_would() -> None:
    line = b'{"event":"request_batch","time":1,"rows":[[2,1,"GET","/a","",200,0,1,"x",2,true,""]],"captured":[],"pid":2}\n'
    (record,) = commands.decode(line).records
    assert (record.time, record.duration, record.error) == (2.0, 0.0, True)
    assert type(record.time) is float and type(record.duration) is float


# --- verify on reload: when it is due ---------------------------------------------


def _verifier() -> Verifier:
    return Verifier(groups=list, captured=lambda request_id: None, replay=None, publish=lambda event: None)


def test_verification_is_due_when_the_new_server_is_ready_after_the_reload_in_either_order() -> None:
    def ready(pid: int, when: float) -> Ready:
        return Ready(time=when, url="http://127.0.0.1:5000", pid=pid, host="127.0.0.1", port=5000,
                     debug=True, debugger=True, reloader=True)

    in_order = _verifier()
    assert not in_order.due(ready(1, 100.0))  # the first start is no reload
    assert not in_order.due(Reload(time=200.0, filename="app.py", reloader="stat", pid=1))
    assert in_order.due(ready(2, 200.2))
    assert not in_order.due(ready(2, 300.0))  # a restart with no file change

    # The new worker reports ready on its connection before the old one's reload arrives.
    crossed = _verifier()
    assert not crossed.due(ready(1, 100.0))
    assert not crossed.due(ready(2, 200.1))
    assert crossed.due(Reload(time=200.0, filename="app.py", reloader="stat", pid=1))
    # A ready long before a reload does not pair with it: that reload waits for its own ready.
    late = _verifier()
    assert not late.due(ready(2, 100.0))
    assert not late.due(Reload(time=200.0, filename="app.py", reloader="stat", pid=1))
    assert late.due(ready(3, 200.3))
