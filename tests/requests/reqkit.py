"""Helpers for the request tests: an app with routes for every case, and real HTTP with bodies."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

from tests.support import Session, free_port, write_app

APP = """
    from flask import Flask, Response, abort, request

    app = Flask(__name__)

    @app.route("/")
    def index():
        return "hello"

    @app.route("/boom")
    def boom():
        numbers = {"answer": 42}
        return str(numbers["answer"] / 0)

    @app.route("/slow")
    def slow():
        import time

        time.sleep(0.25)  # the route takes this long: the record's duration must say so
        return "done"

    @app.route("/private")
    def private():
        if request.headers.get("Authorization") != "Bearer abc123":
            abort(401)
        return "welcome"

    @app.route("/login", methods=["POST"])
    def login():
        secret_token = request.form.get("password", "") + "-session"
        raise RuntimeError("login is broken for " + request.form.get("user", "?"))

    @app.route("/api", methods=["POST"])
    def api():
        body = request.get_json()
        if request.headers.get("Authorization") != "Bearer abc123":
            abort(401)
        return {"ok": body["count"] + 1}

    @app.route("/stream")
    def stream():
        def chunks():
            yield "first\\n"
            raise ValueError("the stream broke")
        return Response(chunks())
"""


def start(session_factory, tmp_path: Path, *extra: str, app: str = APP, env: dict[str, str] | None = None) -> tuple[Session, int]:
    """A headless --json session on a free port serving ``app`` (no reloader unless ``extra`` asks)."""
    write_app(tmp_path, app)
    port = free_port()
    session = session_factory(
        "--app", "app", "--port", str(port), *(extra or ("--no-reload",)),
        env={"XDG_STATE_HOME": str(tmp_path / "state"), **(env or {})},
    )
    session.wait_event("ready")
    return session, port


def send(
    port: int,
    path: str = "/",
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    source: str = "127.0.0.1",
) -> tuple[int, str]:
    """One real HTTP request from ``source``; status and body text."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def record_for(session: Session, path: str, *, since: int = 0, **fields: Any) -> dict[str, Any]:
    """The first ``request`` event for ``path`` (after ``since``) whose fields match."""
    return session.wait_event(
        "request",
        lambda e: e["path"] == path and all(e.get(k) == v for k, v in fields.items()),
        since=since,
    )


def cli_json(session: Session, *args: str) -> Any:
    result = session.cli(*args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
