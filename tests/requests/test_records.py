"""Every request as a record: status, duration, peer, and the link from a failure to its traceback
(issue 12, point 1), through `--headless --json` and `debugdash requests`."""

from __future__ import annotations

from tests.requests.reqkit import cli_json, record_for, send, start


def test_requests_from_two_peers_appear_with_status_duration_and_peer(session_factory, tmp_path) -> None:
    session, port = start(session_factory, tmp_path)

    assert send(port, "/?page=2")[0] == 200
    assert send(port, "/missing", source="127.0.0.2")[0] == 404
    assert send(port, "/slow", source="127.0.0.2")[0] == 200

    local = record_for(session, "/")
    remote = record_for(session, "/missing")
    assert (local["method"], local["status"], local["query"], local["remote_addr"]) == ("GET", 200, "page=2", "127.0.0.1")
    assert (remote["status"], remote["remote_addr"]) == (404, "127.0.0.2")
    assert local["size"] == len("hello")
    assert 0 < local["duration"] < 60
    assert record_for(session, "/slow")["duration"] >= 0.25
    assert local["id"] != remote["id"]
    assert not local["error"] and not remote["error"]

    listed = cli_json(session, "requests", "--json")
    assert [(r["path"], r["status"], r["remote_addr"]) for r in listed[1:3]] == [
        ("/missing", 404, "127.0.0.2"),
        ("/", 200, "127.0.0.1"),
    ]
    text = session.cli("requests", "-n", "2")
    assert text.returncode == 0, text.stderr
    assert "/missing" in text.stdout and "127.0.0.2" in text.stdout and "/?page=2" not in text.stdout

    unknown = session.cli("curl", "999")
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1 and "debugdash requests" in unknown.stderr


def test_a_500_links_to_its_traceback(session_factory, tmp_path) -> None:
    session, port = start(session_factory, tmp_path)

    assert send(port, "/")[0] == 200
    assert send(port, "/boom")[0] == 500

    record = record_for(session, "/boom")
    error = session.wait_event("request_error", lambda e: e["path"] == "/boom")
    assert record["status"] == 500 and record["error"] is True
    assert error["request_id"] == record["id"]
    assert error["chain"][-1]["type"] == "ZeroDivisionError"

    failed = cli_json(session, "requests", "--json", "--errors")
    assert [r["path"] for r in failed] == ["/boom"]


def test_a_streamed_response_that_breaks_links_to_its_traceback(session_factory, tmp_path) -> None:
    session, port = start(session_factory, tmp_path)

    try:
        send(port, "/stream")
    except Exception:
        pass  # the connection may end mid-body: the server gave up on the response

    error = session.wait_event("request_error", lambda e: e["path"] == "/stream")
    record = record_for(session, "/stream")
    assert error["streaming"] is True
    assert error["request_id"] == record["id"]
    assert record["error"] is True


def test_requests_without_a_session_is_one_line_and_exit_2(tmp_path) -> None:
    from tests.support import run_cli

    for args in (["requests"], ["curl", "3"], ["replay", "3"]):
        result = run_cli(*args, cwd=tmp_path)  # conftest gives each test a runtime directory of its own
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_escape_sequences_in_a_request_never_reach_the_terminal_raw(session_factory, tmp_path) -> None:
    session, port = start(session_factory, tmp_path)

    # A raw request line: the path carries ESC ] (OSC) and a bidi override, percent-encoded as a browser would.
    assert send(port, "/%1B%5D52%3Bc%3BZXZpbA%3D%3D%07x%E2%80%AE?q=%1B[2J")[0] == 404
    record = session.wait_event("request", lambda e: e["path"].startswith("/\u241b]52;c;ZXZpbA==\u2407x"))
    listed = session.cli("requests")
    curl = session.cli("curl", str(record["id"]))
    for text in (listed.stdout, curl.stdout, "\n".join(session.stdout_lines)):
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "␛]52" in listed.stdout
