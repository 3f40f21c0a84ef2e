"""``python -m debugdash.agent script app.py``: apps that call ``app.run(debug=True)``."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

from debugdash.protocol.events import LoadError, Ready, Reload, RequestError

from tests.agent.agentkit import http_get

SCRIPT = textwrap.dedent(
    """
    import sys
    from flask import Flask

    app = Flask(__name__)


    @app.get("/")
    def index():
        return " ".join(sys.argv[1:]) or "no args"


    @app.get("/boom")
    def boom():
        raise LookupError("script route failed")


    if __name__ == "__main__":
        app.run(debug=True, port=1)  # the port is overridden by DEBUGDASH_PORT
    """
)


def _script(tmp_path: Path, text: str = SCRIPT) -> Path:
    path = tmp_path / "serve.py"
    path.write_text(text)
    return path


def test_script_runs_with_overrides_and_reports_errors(start_server, tmp_path) -> None:
    script = _script(tmp_path)
    server = start_server(
        str(script), mode="script", env={"DEBUGDASH_RELOAD": "0", "FLASK_RUN_FROM_CLI": "true"}
    )
    ready = server.ready
    assert (ready.pid, ready.debug, ready.reloader, ready.debugger) == (server.proc.pid, True, False, True)
    assert http_get(server.port, "/").body == "no args"
    mark = server.supervisor.mark()
    reply = http_get(server.port, "/boom")
    assert reply.status == 500 and 'SECRET = "' in reply.body  # the debugger, for a local peer
    error = server.supervisor.wait(RequestError, since=mark, path="/boom")
    assert error.exception.type == "LookupError"
    assert error.exception.raised_at.filename == str(script)


def test_script_with_reloader_reloads_on_edit(start_server, tmp_path) -> None:
    script = _script(tmp_path)
    server = start_server(str(script), mode="script", env={"DEBUGDASH_RELOAD": "1"})
    first = server.ready
    assert first.reloader and first.pid != server.proc.pid
    mark = server.supervisor.mark()
    script.write_text(SCRIPT.replace('"no args"', '"edited"'))
    stat = script.stat()
    os.utime(script, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert server.supervisor.wait(Reload, since=mark).filename == str(script)
    second = server.supervisor.wait(Ready, since=mark)
    assert second.pid != first.pid
    assert http_get(server.port, "/").body == "edited"


def test_script_that_fails_reports_a_load_error(start_server, tmp_path) -> None:
    script = _script(tmp_path, "import json\nraise RuntimeError('config missing')\n")
    server = start_server(str(script), mode="script", wait_ready=False)
    error = server.supervisor.wait(LoadError)
    assert (error.filename, error.lineno) == (str(script), 2)
    assert "config missing" in error.message
    assert server.proc.wait(timeout=15) == 1


def test_broken_script_in_a_reloaded_worker_recovers_when_fixed(start_server, tmp_path) -> None:
    script = _script(tmp_path)
    server = start_server(str(script), mode="script", env={"DEBUGDASH_RELOAD": "1"})
    sup = server.supervisor
    mark = sup.mark()
    broken = SCRIPT.replace("def boom():", "def boom(:")
    script.write_text(broken)
    sup.wait(Reload, since=mark)
    error = sup.wait(LoadError, since=mark)
    assert (error.filename, error.lineno) == (str(script), broken.splitlines().index("def boom(:") + 1)
    mark = sup.mark()
    script.write_text(SCRIPT.replace('"no args"', '"recovered"'))
    sup.wait(Ready, since=mark)
    assert http_get(server.port, "/").body == "recovered"
