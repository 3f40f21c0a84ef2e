"""A batch of request records is handled as one unit inside the supervisor (issue 12, point 5:
its cost), and nothing of that shows outside: every request is still one ``request`` line of
``--json``, in order, with the same fields; ``debugdash requests`` lists them newest first;
``status`` counts each one."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

from debugdash.core.settings import Settings
from debugdash.core.supervisor import Supervisor
from debugdash.headless import HeadlessPrinter
from debugdash.protocol.request_events import RequestRecord, RequestRecords, row_of
from tests.requests.reqkit import cli_json, send, start
from tests.support import wait_for

FIELDS = {"event", "time", "id", "method", "path", "query", "status", "duration", "size", "remote_addr", "pid", "error", "replay"}


def test_a_burst_of_requests_is_one_json_line_each_in_order_and_listed_newest_first(session_factory, tmp_path) -> None:
    session, port = start(session_factory, tmp_path)
    mark = session.mark()
    count = 48

    def client(first: int) -> None:
        for n in range(first, count, 8):  # eight at once: batches of several records
            assert send(port, f"/?n={n}")[0] == 200

    threads = [threading.Thread(target=client, args=(first,)) for first in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    def ours() -> list[dict]:
        return [e for e in session.named("request", mark) if e["query"].startswith("n=")]

    lines = wait_for(lambda: len(ours()) >= count and ours(), what="a request line per request")
    assert sorted(e["query"] for e in lines) == sorted(f"n={n}" for n in range(count))  # each exactly once
    assert all(set(e) == FIELDS for e in lines)
    assert all((e["method"], e["path"], e["status"], e["remote_addr"], e["error"]) == ("GET", "/", 200, "127.0.0.1", False)
               for e in lines)
    ids = [e["id"] for e in lines]
    assert ids == sorted(ids) and len(set(ids)) == count  # numbered in the order they were written

    listed = [r for r in cli_json(session, "requests", "--json", "-n", "100") if r["query"].startswith("n=")]
    assert [r["id"] for r in listed] == ids[::-1]
    assert listed[0] == {k: v for k, v in lines[-1].items() if k != "event"}
    status = json.loads(session.cli("status", "--json").stdout)
    assert status["requests"]["total"] >= count


def _printer(as_json: bool) -> tuple[Supervisor, io.StringIO]:
    supervisor = Supervisor(Settings.for_tests(app="shop", port=5000, cwd=Path("/srv/shop")))
    out = io.StringIO()
    HeadlessPrinter(supervisor, out, as_json=as_json)
    return supervisor, out


def _record(n: int, **fields) -> RequestRecord:
    base = dict(time=1700000000.0 + n / 7, id=n, method="GET", path=f"/ü{n}", query="a=1", status=200,
                duration=n / 3, size=n, remote_addr="::1", pid=9, error=False, replay="")
    return RequestRecord(**{**base, **fields})


def test_one_published_batch_writes_the_same_lines_as_its_records_one_by_one() -> None:
    records = [_record(1), _record(2, status=500, error=True), _record(3, replay="m1", path="/\u2028x")]
    batched, out = _printer(as_json=True)
    batched.publish([RequestRecords(rows=[row_of(r) for r in records], failed=1)])
    single, expected = _printer(as_json=True)
    single.publish(records)
    assert out.getvalue() == expected.getvalue()
    assert [json.loads(line)["id"] for line in out.getvalue().splitlines()] == [1, 2, 3]


def test_readable_output_leaves_request_records_to_the_server_log() -> None:
    supervisor, out = _printer(as_json=False)
    supervisor.publish([RequestRecords(rows=[row_of(_record(1))])])
    assert out.getvalue() == ""
