"""The console from the command line (issue 13): `debugdash errors` and `debugdash eval`
against a real session and a real Flask server, with real failing requests."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import psutil
import pytest

from tests.support import Session, free_port, http, wait_for, write_app

ORDERS_APP = """
    from flask import Flask, jsonify, request

    app = Flask(__name__)

    @app.route("/orders", methods=["POST"])
    def create_order():
        order = {"total": 42, "items": ["tea", "cake"], "payload": b"x" * int(request.args.get("kb", "0")) * 1024}
        return jsonify(charge(order))

    def charge(order):
        amount = order["total"] * 100
        raise RuntimeError(f"payment gateway refused {amount}")

    @app.route("/ok")
    def ok():
        return jsonify(ok=True)
"""

MODES = {
    "debugger-on": ["--debugger"],
    "debugger-off": ["--no-debugger"],
    "debug-off": ["--no-debug"],
}


def start(session_factory, tmp_path: Path, *flags: str) -> tuple[Session, int]:
    write_app(tmp_path, ORDERS_APP)
    port = free_port()
    session = session_factory("--app", "app", "--port", str(port), *flags)
    session.wait_event("ready")
    return session, port


def fail(session: Session, port: int, kb: int = 0) -> dict:
    """One failing POST /orders; its request_error event."""
    mark = session.mark()
    status, _, _ = http(port, f"/orders?kb={kb}", method="POST", headers={"Accept": "application/json"})
    assert status == 500
    return session.wait_event("request_error", since=mark)


def errors(session: Session) -> list[dict]:
    result = session.cli("errors", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_evaluate_in_the_failing_frame_of_a_json_route(tmp_path: Path, session_factory) -> None:
    session, port = start(session_factory, tmp_path, "--no-reload")
    event = fail(session, port)
    [group] = errors(session)
    assert group["type"] == "RuntimeError" and group["message"] == "payment gateway refused 4200"
    assert group["location"] == f"{tmp_path / 'app.py'}:13" and group["count"] == 1
    assert group["occurrence"] == event["occurrence"] and group["frames_held"] is True
    occurrence = group["occurrence"]

    def evaluate(*args: str):
        return session.cli("eval", occurrence, *args)

    result = evaluate("--", "order['total']")
    assert (result.returncode, result.stdout, result.stderr) == (0, "42\n", "")
    assert evaluate("--", "x = 5").returncode == 0
    assert evaluate("--", "x * 2").stdout == "10\n"  # the same frame's console kept x
    assert evaluate("--", "print('items:', len(order['items'])); amount").stdout == "items: 2\n4200\n"

    block = "for item in order['items']:\n    print(item.upper())\nlen(order['items'])"
    assert evaluate("--", block).stdout == "TEA\nCAKE\n2\n"  # several lines, as pasted

    frames = event["chain"][-1]["frames"]
    outer = next(n for n, f in enumerate(frames) if f["function"] == "create_order")
    shown = session.cli("errors").stdout
    assert f"frame {outer} {tmp_path / 'app.py'}:9 in create_order" in shown
    result = evaluate("--frame", str(outer), "--", "order['items'], 'amount' in dir()")
    assert result.stdout == "(['tea', 'cake'], False)\n"

    raised = evaluate("--", "order['shipping']")
    assert raised.returncode == 1 and raised.stdout == ""
    assert raised.stderr.startswith("Traceback (most recent call last):")
    assert "order['shipping']" in raised.stderr and raised.stderr.rstrip().endswith("KeyError: 'shipping'")
    assert "debugdash" not in raised.stderr  # the expression's own traceback, nothing of ours


@pytest.mark.parametrize("mode", list(MODES))
def test_the_console_works_with_the_debugger_on_off_and_debug_mode_off(tmp_path: Path, session_factory, mode: str) -> None:
    session, port = start(session_factory, tmp_path, "--no-reload", *MODES[mode])
    occurrence = fail(session, port)["occurrence"]
    result = session.cli("eval", occurrence, "--", "order['total'] + 1")
    assert (result.returncode, result.stdout) == (0, "43\n")


def test_each_evaluation_is_an_audit_record_with_its_code_redacted(tmp_path: Path, session_factory) -> None:
    session, port = start(session_factory, tmp_path, "--no-reload")
    occurrence = fail(session, port)["occurrence"]
    assert session.cli("eval", occurrence, "--", "api_token = 'tok-123456'; order['total']").stdout == "42\n"
    audit = Path(os.environ["XDG_STATE_HOME"]) / "debugdash" / "audit.log"
    record = wait_for(lambda: [line for line in audit.read_text().splitlines() if "\teval\t" in line], what="an eval record")[0]
    _, user, action, where, frame, detail = record.split("\t")
    assert (action, where) == ("eval", occurrence)
    assert frame.endswith("app.py:13 in charge")
    assert detail == "RuntimeError: payment gateway refused 4200 | api_token = <redacted>; order['total']"
    assert "tok-123456" not in audit.read_text()


def test_only_the_newest_twenty_keep_frames_and_a_reload_releases_them_all(tmp_path: Path, session_factory) -> None:
    session, port = start(session_factory, tmp_path)  # with the reloader: a reload replaces the worker
    occurrences = [fail(session, port)["occurrence"] for _ in range(25)]
    assert len(set(occurrences)) == 25
    for gone in occurrences[:5]:
        result = session.cli("eval", gone, "--", "order['total']")
        assert result.returncode == 2
        assert result.stderr == f"Error: {gone}: frames released: only the newest 20 failing requests keep their frames\n"
    for held in (occurrences[5], occurrences[-1]):
        assert session.cli("eval", held, "--", "order['total']").stdout == "42\n"
    assert errors(session)[0]["frames_held"] is True

    mark = session.mark()
    app = tmp_path / "app.py"
    app.write_text(app.read_text() + "\n# edited\n")
    stat = app.stat()
    os.utime(app, (stat.st_atime, stat.st_mtime + 5))
    session.wait_event("reload", since=mark, timeout=60)
    session.wait_event("ready", since=mark, timeout=60)
    assert errors(session)[0]["frames_held"] is False
    assert "frames released" in session.cli("errors").stdout
    result = session.cli("eval", occurrences[-1], "--", "order['total']")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "the worker that raised it was replaced (a reload or restart)" in result.stderr


def test_the_server_memory_stays_bounded_under_a_thousand_failures(tmp_path: Path, session_factory) -> None:
    # Werkzeug's own debugger keeps every traceback it renders, unbounded: off here, so
    # that what is measured is the console's store (each failure holds 256 KiB).
    session, port = start(session_factory, tmp_path, "--no-reload", "--no-debugger")
    server = psutil.Process(session.wait_event("ready")["pid"])
    for _ in range(100):
        fail(session, port, kb=256)
    before = server.memory_info().rss
    for _ in range(900):
        status, _, _ = http(port, "/orders?kb=256", method="POST")
        assert status == 500
    wait_for(lambda: len(session.named("request_error")) >= 1000, timeout=60, what="1,000 request errors")
    grown = server.memory_info().rss - before
    # Unbounded, 900 more failures would hold 225 MiB more. The bound of 20 holds about
    # 5 MiB of payloads, but the allocator's fragmentation makes RSS wander by tens of
    # MiB around a plateau (measured: 74-117 MiB from the 250th failure to the 2000th).
    assert grown < 100 * 1024 * 1024, f"the server grew by {grown / 2**20:.1f} MiB over 900 failures"
    assert len(errors(session)) == 1


def test_bad_eval_input_is_one_line_with_exit_code_2(tmp_path: Path, session_factory) -> None:
    session, port = start(session_factory, tmp_path, "--no-reload")
    occurrence = fail(session, port)["occurrence"]
    for args, message in [
        (("eval", occurrence, "--frame", "99", "--", "1"), r"has frames 0 to \d+; pick one of those with --frame"),
        (("eval", "nonsense", "--", "1"), r"no occurrence 'nonsense'; `debugdash errors` lists"),
        (("eval", occurrence, "--", " "), r"nothing to evaluate"),
        (("eval", occurrence, "--timeout", "-1", "--", "1"), r"--timeout must be 0"),
    ]:
        result = session.cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert re.fullmatch(rf"Error: .*{message}.*\n", result.stderr), result.stderr
