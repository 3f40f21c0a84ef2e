"""Nothing outlives debugdash, however it ends; crashes wait for a fix."""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path

import pytest

from tests.support import SIMPLE_APP, Session, alive, free_port, http, port_is_free, run_cli, wait_for, write_app


@pytest.fixture
def running(tmp_path: Path):
    sessions: list[Session] = []

    def start(*extra: str) -> tuple[Session, int]:
        write_app(tmp_path, SIMPLE_APP)
        port = free_port()
        session = Session("--app", "app", "--port", str(port), *extra, cwd=tmp_path)
        sessions.append(session)
        session.wait_event("ready")
        # The reloader parent, the worker: the whole tree as it is now.
        wait_for(lambda: len(session.tree()) >= (3 if "--no-reload" not in extra else 2), what="server tree")
        return session, port

    yield start
    for session in sessions:
        session.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=["SIGTERM", "SIGINT", "SIGHUP"])
def test_signals_end_the_whole_tree_and_free_the_port(running, sig: int) -> None:
    session, port = running()
    tree = session.tree()
    session.signal(sig)
    assert session.wait_exit(timeout=30) == 0
    wait_for(lambda: not alive(tree), timeout=30, what="every process of the tree gone")
    wait_for(lambda: port_is_free(port), timeout=30, what="port free")


def test_sigkill_of_debugdash_makes_the_agent_shut_the_server_down(running) -> None:
    session, port = running()
    tree = session.tree()
    servers = [p for p in tree if p.pid != session.proc.pid]
    session.signal(signal.SIGKILL)
    session.wait_exit(timeout=30)
    # Nobody cleaned up for us: the agent noticed its lost supervisor.
    wait_for(lambda: not alive(servers), timeout=30, what="server tree gone after SIGKILL")
    wait_for(lambda: port_is_free(port), timeout=30, what="port free")


def test_sigkill_without_reloader_too(running) -> None:
    session, port = running("--no-reload")
    servers = [p for p in session.tree() if p.pid != session.proc.pid]
    # The server's guard was forked before the server imported Flask (its standby):
    # it holds a few MB, not a copy of the grown server (~26 MB before).
    (server,) = [p for p in servers if p.ppid() == session.proc.pid]
    (guard,) = server.children()
    assert guard.memory_info().rss < server.memory_info().rss / 2
    session.signal(signal.SIGKILL)
    session.wait_exit(timeout=30)
    wait_for(lambda: not alive(servers), timeout=30, what="server gone after SIGKILL")
    wait_for(lambda: port_is_free(port), timeout=30, what="port free")


CRASHY = """
    import os
    from flask import Flask

    app = Flask(__name__)

    @app.route("/")
    def index():
        return "hello"

    @app.route("/die")
    def die():
        print("about to die", flush=True)
        os._exit(7)
"""


def test_a_crash_is_reported_and_restarted_on_change_or_restart_never_in_a_loop(tmp_path: Path) -> None:
    write_app(tmp_path, CRASHY)
    port = free_port()
    session = Session("--app", "app", "--port", str(port), "--no-reload", cwd=tmp_path)
    try:
        first = session.wait_event("ready")
        with pytest.raises(OSError):
            http(port, "/die")
        exited = session.wait_event("exited")
        assert exited["returncode"] == 7
        assert exited["expected"] is False
        assert any("about to die" in line for line in exited["last_lines"])

        # No tight loop: nothing restarts while nothing changes. A loop would
        # start again as soon as it saw the exit; the user asking for the status
        # afterwards finds the crash still shown and nothing started.
        status = json.loads(session.cli("status", "--json").stdout)
        assert status["phase"] == "crashed"
        assert len(session.named("started")) == 1

        mark = session.mark()
        result = session.cli("restart")
        assert result.returncode == 0, result.stderr
        second = session.wait_event("ready", since=mark)
        assert second["pid"] != first["pid"]

        with pytest.raises(OSError):
            http(port, "/die")
        session.wait_event("exited", since=mark)
        mark = session.mark()
        write_app(tmp_path, CRASHY + "\n    # fixed\n")
        session.wait_event("ready", since=mark, timeout=20)
        assert session.named("started", since=mark)[0]["reason"] == "file-change"
        assert http(port, "/")[0] == 200
    finally:
        session.close()


def test_a_port_in_use_fails_at_once_naming_the_holder(tmp_path: Path) -> None:
    write_app(tmp_path, SIMPLE_APP)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_cli("--app", "app", "--port", str(port), "--headless", cwd=tmp_path, timeout=30)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"port {port} is in use by pid {os.getpid()}" in lines[0]
    assert "--port" in lines[0]
