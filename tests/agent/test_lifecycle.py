"""Start-up handshake and failing closed when the supervisor goes away."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import psutil
import pytest

from debugdash.protocol.events import Ready

from tests.agent.agentkit import REPO_ROOT, free_port, wait_for


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_without_debugdash_it_says_how_to_start_and_exits_2() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEBUGDASH_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "debugdash.agent", "flask", "run"],
        env=env, capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "debugdash.agent is started by debugdash; run `debugdash --app ...` instead"
    )


def test_the_app_is_imported_only_after_configure(start_server, supervisor, tmp_path) -> None:
    marker = tmp_path / "imported"
    project = tmp_path / "p"
    project.mkdir()
    (project / "app.py").write_text(
        textwrap.dedent(
            f"""
            from pathlib import Path
            from flask import Flask
            Path({str(marker)!r}).write_text("yes")
            app = Flask(__name__)
            """
        )
    )
    supervisor.answer_hello = False
    server = start_server("app", supervisor=supervisor, cwd=project, wait_ready=False)
    wait_for(lambda: supervisor.connections)
    assert not marker.exists()
    supervisor.send(supervisor.configure)
    supervisor.wait(Ready)
    assert marker.read_text() == "yes"
    assert server.proc.poll() is None


def test_server_exits_at_once_when_the_connection_drops(start_server) -> None:
    server = start_server()
    server.supervisor.drop()
    assert server.proc.wait(timeout=15) == 4
    wait_for(lambda: _port_is_free(server.port), timeout=15)


@pytest.mark.parametrize("dropped", ["all", "reloader-only", "worker-only"])
def test_reloader_tree_ends_when_the_supervisor_goes(start_server, dropped) -> None:
    port = free_port()
    server = start_server(flask_args=["--debug", "run", "--reload", "--port", str(port)], port=port)
    worker = server.ready.pid
    assert worker != server.proc.pid
    if dropped == "all":
        server.supervisor.drop()
    elif dropped == "reloader-only":
        server.supervisor.drop(server.proc.pid)
    else:
        server.supervisor.drop(worker)
    # Exit code 4, never 3: the reloader parent must not start a new worker.
    code = server.proc.wait(timeout=15)
    assert code == 4
    wait_for(lambda: _gone(worker), timeout=15)
    wait_for(lambda: _port_is_free(port), timeout=15)
    assert not [e for e in server.supervisor.events if isinstance(e, Ready) and e.pid != worker]
