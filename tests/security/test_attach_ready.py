"""Attach is ready when debugdash says so: a DAP `initialize` sent the moment
`attach_listening` appears, the moment `debugdash toggle attach on` returns, or
the moment a reload's `ready` appears, is answered (debugpy starts a little
later in the server; an early client waits for it instead of being dropped)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dap import DapClient
from tests.support import Session, free_port, write_app

pytestmark = pytest.mark.timeout(180)

APP = """
    from flask import Flask

    app = Flask(__name__)

    @app.route("/")
    def index():
        return "hello"
"""


@pytest.fixture
def start(tmp_path: Path):
    app = write_app(tmp_path, APP)
    sessions: list[Session] = []

    def start(*extra: str) -> tuple[Session, int]:
        attach_port = free_port()
        session = Session("--app", "app", "--port", str(free_port()), "--attach-port", str(attach_port), *extra, cwd=tmp_path)
        sessions.append(session)
        return session, attach_port

    yield start, app
    for session in sessions:
        session.close()


def _answered(attach_port: int) -> dict:
    """`initialize` through the attach port, at once; the capabilities debugpy answered with."""
    with DapClient.connect("127.0.0.1", attach_port) as dap:
        return dap.initialize(timeout=15)


def test_initialize_right_after_attach_listening_is_answered(start) -> None:
    session, attach_port = start[0]("--attach")
    session.wait_event("attach_listening", timeout=60)
    assert "supportsConfigurationDoneRequest" in _answered(attach_port)


def test_initialize_right_after_toggle_attach_on_returns_is_answered(start) -> None:
    session, attach_port = start[0]()
    session.wait_event("ready", timeout=60)
    result = session.cli("toggle", "attach", "on")
    assert result.returncode == 0, result.stderr
    assert "supportsConfigurationDoneRequest" in _answered(attach_port)


def test_initialize_right_after_a_reloads_ready_is_answered(start) -> None:
    start_session, app = start
    session, attach_port = start_session("--attach")
    session.wait_event("attach_listening", timeout=60)
    # The reloader stays on with attach (the IDE stays attached across reloads).
    session.wait_event("ready", lambda e: e["reloader"], timeout=60)
    assert "supportsConfigurationDoneRequest" in _answered(attach_port)

    mark = session.mark()
    app.write_text(app.read_text() + "\n# edited\n")
    session.wait_event("reload", since=mark, timeout=60)
    session.wait_event("ready", since=mark, timeout=60)
    assert "supportsConfigurationDoneRequest" in _answered(attach_port)
