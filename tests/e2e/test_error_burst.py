"""A burst of failing requests through `debugdash --headless --json`: exact counts, whole
captures of the group's first and newest occurrences, with the values their locals had."""

from __future__ import annotations

import http.client

from debugdash.core.state import SessionState
from debugdash.protocol.events import event_from_dict
from tests.support import free_port, wait_for, write_app

APP = """
    from flask import Flask, request

    app = Flask(__name__)
    STATE = {"phase": "idle"}

    @app.get("/fail/<int:n>")
    def fail(n):
        state = STATE
        state["phase"] = f"failing {n}"
        marker = f"request {n}"
        raise LookupError(f"no item {n}")

    @app.teardown_request
    def after(exc):
        # Runs after the error was reported: a capture made later would show this value.
        STATE["phase"] = f"done {request.view_args['n']}"
"""

BURST = 300


def _fail_in_a_row(port: int, count: int) -> list[int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    statuses = []
    try:
        for n in range(1, count + 1):
            conn.request("GET", f"/fail/{n}")
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
    finally:
        conn.close()
    return statuses


def _raised_at(event: dict) -> dict:
    return [f for f in event["chain"][-1]["frames"] if f["is_app"]][-1]


def test_a_burst_is_counted_exactly_and_its_first_and_newest_occurrences_are_whole(session_factory, tmp_path):
    write_app(tmp_path, APP)
    port = free_port()
    session = session_factory("--app", "app", "--port", str(port), "--no-reload", "--no-debugger")
    session.wait_event("ready")

    assert _fail_in_a_row(port, BURST) == [500] * BURST

    newest = session.wait_event("request_error", lambda e: e.get("count") == BURST, timeout=60)
    assert newest["path"] == f"/fail/{BURST}"
    locals_ = _raised_at(newest)["locals"]
    # The values at failure time, not those after the request ended.
    assert locals_["marker"] == f"'request {BURST}'" and locals_["state"] == f"{{'phase': 'failing {BURST}'}}"

    first = session.named("request_error")[0]
    assert first["count"] == 1 and first["path"] == "/fail/1"
    assert _raised_at(first)["locals"]["state"] == "{'phase': 'failing 1'}"

    # What the dashboard folds from the same events: one group, every failure counted once.
    def folded() -> SessionState:
        state = SessionState()
        state.apply_all(event_from_dict(e) for e in session.events if e["event"].startswith("request_error"))
        return state

    state = wait_for(lambda: (s := folded()).error_count == BURST and s, what="every failure counted")
    (group,) = state.error_groups
    assert group.count == BURST and group.latest.path == f"/fail/{BURST}"
    # Written as the agent sent them or encoded again, the lines say what their events say.
    for event in session.events:
        if event["event"].startswith("request_error"):
            assert event == event_from_dict(event).to_dict()
