"""External attach end to end: a real DAP client, through debugdash's relay, to
debugpy inside the real server; breakpoints hit by real HTTP requests."""

from __future__ import annotations

import json
import signal
import socket
import threading
from pathlib import Path

import pytest

from tests.dap import DapClient
from tests.support import Session, SharedClock, alive, close_all, free_port, http, port_is_free, wait_for, write_app

pytestmark = pytest.mark.timeout(120)

APP = """
    from flask import Flask

    app = Flask(__name__)

    @app.route("/answer")
    def answer():
        value = 21 * 2
        return str(value)
"""
BREAKPOINT_LINE = 8  # `value = 21 * 2`


@pytest.fixture
def attach_session(tmp_path: Path):
    app = write_app(tmp_path, APP)
    assert app.read_text().splitlines()[BREAKPOINT_LINE - 1].strip() == "value = 21 * 2"
    clock = SharedClock(tmp_path / "clock-offset")
    sessions: list[Session] = []

    def start(*extra: str) -> tuple[Session, int, int]:
        port, attach_port = free_port(), free_port()
        session = Session(
            "--app", "app", "--port", str(port), "--attach-port", str(attach_port), *extra,
            cwd=tmp_path,
            env=clock.env(),
        )
        sessions.append(session)
        session.wait_event("ready")
        return session, port, attach_port

    yield start, app, clock
    close_all(sessions)


def _wait_debugpy(session: Session, since: int = 0) -> None:
    session.wait_event("notice", lambda e: "debugpy listening" in e["message"], since=since, timeout=30)


def _debug_one_request(attach_port: int, port: int, app: Path, source: str = "127.0.0.1") -> None:
    """initialize → attach → breakpoint → configurationDone → request → stopped → continue → response."""
    with DapClient.connect("127.0.0.1", attach_port, source_address=(source, 0)) as dap:
        dap.initialize()
        reported = dap.attach(breakpoints={str(app): [BREAKPOINT_LINE]})
        assert reported[str(app)][0]["verified"] is True
        result: dict[str, object] = {}
        request = threading.Thread(target=lambda: result.update(reply=http(port, "/answer", timeout=60)))
        request.start()
        stopped = dap.wait_event("stopped", timeout=30)
        frame = dap.top_frame(stopped["body"]["threadId"])
        assert (frame["source"]["path"], frame["line"]) == (str(app), BREAKPOINT_LINE)
        assert "reply" not in result, "the request waits at the breakpoint"
        dap.request("continue", {"threadId": stopped["body"]["threadId"]})
        request.join(timeout=30)
        assert result["reply"][:2] == (200, "42")
        dap.request("disconnect", {"terminateDebuggee": False})


def test_attach_from_this_machine_stops_at_a_breakpoint(attach_session) -> None:
    start, app, _ = attach_session
    session, port, attach_port = start("--attach")
    toggles = session.named("toggles")[-1]
    assert toggles["attach"] and not toggles["debugger"], "external debugger mode"
    assert toggles["reloader"], "the reloader stays on: the IDE stays attached across reloads"
    listening = session.wait_event("attach_listening")
    assert listening["port"] == attach_port
    _wait_debugpy(session)
    _debug_one_request(attach_port, port, app)
    connected = session.wait_event("attach_client", lambda e: e["state"] == "connected")
    assert connected["peer"] == "127.0.0.1"


def test_granted_peer_attaches_and_others_are_refused(attach_session) -> None:
    start, app, _ = attach_session
    session, port, attach_port = start("--attach")
    _wait_debugpy(session)
    assert session.cli("allow", "127.0.0.2", "--what", "attach").returncode == 0
    assert session.cli("allow", "127.0.0.4", "--what", "debugger").returncode == 0
    _debug_one_request(attach_port, port, app, source="127.0.0.2")

    for peer in ("127.0.0.3", "127.0.0.4"):
        with socket.create_connection(("127.0.0.1", attach_port), timeout=15, source_address=(peer, 0)) as s:
            s.settimeout(5)
            assert s.recv(1) == b"", f"{peer} must be refused"
        session.wait_event("access_refused", lambda e, p=peer: e["address"] == p and e["what"] == "attach")
        session.wait_event("attach_client", lambda e, p=peer: e["state"] == "refused" and e["peer"] == p)


def test_expiry_revoke_and_attach_off_close_connections_and_free_the_port(attach_session) -> None:
    start, _, clock = attach_session
    session, port, attach_port = start("--attach")
    _wait_debugpy(session)
    session.cli("allow", "127.0.0.2", "--what", "attach", "--for", "10m")
    session.cli("allow", "127.0.0.3", "--what", "both", "--for", "20m")

    expiring = DapClient.connect("127.0.0.1", attach_port, source_address=("127.0.0.2", 0))
    revoked = DapClient.connect("127.0.0.1", attach_port, source_address=("127.0.0.3", 0))
    local = DapClient.connect("127.0.0.1", attach_port)
    try:
        expiring.initialize()
        clock.advance(601)
        assert expiring.wait_closed(timeout=15), "closed when its grant expired"
        revoked.initialize()
        session.cli("revoke", "127.0.0.3")
        assert revoked.wait_closed(timeout=15), "closed when its grant was revoked"

        local.initialize()
        internal = json.loads(session.cli("status", "--json").stdout)["attach"]["internal_port"]
        result = session.cli("toggle", "attach", "off")
        assert result.returncode == 0 and result.stdout.strip() == "attach off"
        assert local.wait_closed(timeout=15)
        wait_for(lambda: port_is_free(attach_port), timeout=15, what="attach port free")
        wait_for(lambda: port_is_free(internal), timeout=15, what="the debug endpoint is gone")
        toggles = session.named("toggles")[-1]
        assert not toggles["attach"] and toggles["debugger"] and toggles["reloader"], "what was on before is back"
    finally:
        for client in (expiring, revoked, local):
            client.close()


def test_reload_with_attach_leaves_a_working_endpoint_and_tells_the_client(attach_session) -> None:
    start, app, _ = attach_session
    session, port, attach_port = start("--attach")
    _wait_debugpy(session)
    assert session.named("ready")[-1]["reloader"]

    # Only a client that attached is kept across a reload (test_reattach.py).
    client = DapClient.connect("127.0.0.1", attach_port)
    try:
        client.initialize()
        mark = session.mark()
        app.write_text(app.read_text() + "\n# edited\n")
        session.wait_event("reload", since=mark)
        assert client.wait_closed(timeout=15), "a client that never attached is let go with its debuggee"
    finally:
        client.close()
    session.wait_event("ready", since=mark)
    _wait_debugpy(session, since=mark)
    _debug_one_request(attach_port, port, app)


def test_a_taken_attach_port_fails_with_one_line_and_the_server_keeps_running(attach_session) -> None:
    start, _, _ = attach_session
    session, port, attach_port = start()
    pid = session.named("ready")[-1]["pid"]
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", attach_port))
        holder.listen()
        result = session.cli("toggle", "attach", "on")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(attach_port) in lines[0] and "pid" in lines[0]
    assert http(port, "/answer")[:2] == (200, "42")
    assert session.named("ready")[-1]["pid"] == pid
    assert not session.named("toggles")[-1]["attach"]


def test_nothing_of_attach_survives_sigkill_of_debugdash(attach_session) -> None:
    start, _, _ = attach_session
    session, port, attach_port = start("--attach")
    _wait_debugpy(session)
    internal = json.loads(session.cli("status", "--json").stdout)["attach"]["internal_port"]
    servers = [p for p in session.tree() if p.pid != session.proc.pid]
    session.signal(signal.SIGKILL)
    wait_for(lambda: not alive(servers), timeout=15, what="server gone")
    wait_for(lambda: all(port_is_free(p) for p in (attach_port, port, internal)), timeout=15, what="ports free")
