"""`--script app.py` whose app.run() picks its own port, and no --port: the
session is known by the port the server really binds (issue 11, point 3)."""

from __future__ import annotations

import contextlib
import json
import socket
from pathlib import Path

from tests.support import Session, free_port, run_cli, write_app

SCRIPT = """
    from flask import Flask

    app = Flask(__name__)


    @app.route("/")
    def index():
        return "hello"


    if __name__ == "__main__":
        app.run(port={port}, debug=True)
"""


def _hold(port: int) -> socket.socket | None:
    """Listen on ``port`` so that a start-up check of it would fail; None when someone else already does."""
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen(1)
    except OSError:
        sock.close()
        return None
    return sock


def test_a_script_that_picks_its_port_is_known_by_that_port(tmp_path: Path) -> None:
    port = free_port()
    write_app(tmp_path, SCRIPT.replace("{port}", str(port)), name="serve.py")
    # The default port is taken: a check of 5000 instead of the script's port would refuse to start.
    held = _hold(5000)
    session = Session("--script", "serve.py", cwd=tmp_path)
    try:
        ready = session.wait_event("ready", timeout=60)
        assert ready["port"] == port

        status = run_cli("status", "--json", "--port", str(port), cwd=tmp_path)
        assert status.returncode == 0, status.stderr
        data = json.loads(status.stdout)
        assert (data["port"], data["phase"]) == (port, "running")

        # The reloader parent is the script's own (Werkzeug's): the figures are the worker's.
        started = session.named("started")[-1]
        assert started["pid"] != ready["pid"]
        # A sample taken before the worker said it was ready still counts the whole tree.
        session.wait_event("stats", lambda e: ready["pid"] in e["pids"] and started["pid"] not in e["pids"], since=0, timeout=60)
    finally:
        session.close()
        with contextlib.suppress(OSError):
            if held is not None:
                held.close()
