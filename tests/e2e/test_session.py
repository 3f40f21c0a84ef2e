"""debugdash --headless --json against real Flask servers: what a user sees on
start, on errors, on reload, and when toggling from another terminal."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import psutil
import pytest

from tests.support import SIMPLE_APP, free_port, http, wait_for, write_app




def test_ready_carries_url_pid_debugger_and_a_fresh_pin(tmp_path: Path, session_factory) -> None:
    write_app(tmp_path, SIMPLE_APP)
    port = free_port()
    session = session_factory("--app", "app", "--port", str(port), "--no-reload")
    ready = session.wait_event("ready")
    assert ready["url"] == f"http://127.0.0.1:{port}"
    assert ready["port"] == port
    assert ready["debugger"] is True
    assert "pin" not in ready, "the PIN stays out of --json output unless --json-pin asks"
    pin = session.pin()
    assert re.fullmatch(r"\d{3}-\d{3}-\d{3}", pin)
    server = psutil.Process(ready["pid"])
    # The server's pid, not debugdash's: the process that listens on the port (its
    # command line may be debugdash's own, when it was forked from it to start early).
    assert server.pid != session.proc.pid
    assert any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in server.net_connections("inet"))
    assert http(port, "/")[:2] == (200, "hello")

    mark = session.mark()
    assert session.cli("restart").returncode == 0
    again = session.wait_event("ready", since=mark)
    assert again["pid"] != ready["pid"]
    assert session.pin() == pin, "one PIN per session, as `flask run` keeps its PIN across restarts"
    # The PIN is never in the server's output.
    assert not any(pin in line for line in session.stdout_lines)


def test_request_error_reaches_the_stream_with_frames(tmp_path: Path, session_factory) -> None:
    write_app(tmp_path, SIMPLE_APP)
    port = free_port()
    session = session_factory("--app", "app", "--port", str(port), "--no-reload")
    session.wait_event("ready")
    status, body, _ = http(port, "/boom")
    assert status == 500
    assert "ZeroDivisionError" in body  # the interactive debugger page, for 127.0.0.1
    error = session.wait_event("request_error")
    assert (error["method"], error["path"]) == ("GET", "/boom")
    exc = error["chain"][-1]
    assert exc["type"] == "ZeroDivisionError"
    assert exc["message"] == "division by zero"
    frame = exc["frames"][-1]
    assert frame["filename"] == str(tmp_path / "app.py")
    assert frame["function"] == "boom"
    assert "numbers" in frame["source"]
    assert frame["locals"]["numbers"] == "{'answer': 42}"


@pytest.mark.parametrize(
    "app_arg, source, env",
    [
        ("app", SIMPLE_APP, {}),
        ("app:app", SIMPLE_APP, {}),
        ("shop:create_app()", """
            from flask import Flask

            def create_app():
                app = Flask(__name__)

                @app.route("/")
                def index():
                    return "hello"

                return app
        """, {}),
        (None, SIMPLE_APP, {"FLASK_APP": "app"}),
    ],
    ids=["module", "module-name", "factory", "FLASK_APP"],
)
def test_app_discovery_like_the_flask_cli(tmp_path: Path, session_factory, app_arg, source, env) -> None:
    name = "shop.py" if app_arg and app_arg.startswith("shop") else "app.py"
    write_app(tmp_path, source, name=name)
    if name == "shop.py":
        # Nothing named app.py here, so discovery must follow --app.
        assert not (tmp_path / "app.py").exists()
    port = free_port()
    args = (["--app", app_arg] if app_arg else []) + ["--port", str(port), "--no-reload"]
    session = session_factory(*args, env=env)
    session.wait_event("ready")
    assert http(port, "/")[:2] == (200, "hello")


def test_flaskenv_sets_the_app_and_port_when_python_dotenv_is_present(tmp_path: Path, session_factory) -> None:
    import dotenv  # noqa: F401  (a test dependency: fail loudly rather than skip when it is missing)

    write_app(tmp_path, SIMPLE_APP, name="storefront.py")
    port = free_port()
    (tmp_path / ".flaskenv").write_text(f"FLASK_APP=storefront\nFLASK_RUN_PORT={port}\n")
    session = session_factory("--no-reload")
    ready = session.wait_event("ready")
    assert ready["port"] == port
    assert http(port, "/")[:2] == (200, "hello")


def test_script_mode_gives_the_same_events(tmp_path: Path, session_factory) -> None:
    write_app(tmp_path, SIMPLE_APP + '\n    if __name__ == "__main__":\n        app.run(debug=True)\n', name="serve.py")
    port = free_port()
    session = session_factory("--script", "serve.py", "--port", str(port))
    ready = session.wait_event("ready")
    assert ready["port"] == port and ready["debugger"] is True and ready["reloader"] is True
    http(port, "/boom")
    error = session.wait_event("request_error")
    assert error["chain"][-1]["type"] == "ZeroDivisionError"


def rewrite(path: Path, source: str) -> None:
    """Replace a watched file so its mtime differs, however coarse the file system clock.

    The reloader compares nanosecond mtimes; one microsecond past the old one is
    a change, and still in the past, so the next worker takes it as loaded.
    """
    before = path.stat().st_mtime_ns
    write_app(path.parent, source, name=path.name)
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before, before + 1_000))


BROKEN = """
    from flask import Flask

    app = Flask(__name__)

    @app.route("/")
    def index():
        return "hello"
    def broken(:
        pass
"""


def test_syntax_error_gives_load_error_and_recovers_when_fixed(tmp_path: Path, session_factory) -> None:
    app = write_app(tmp_path, BROKEN)
    port = free_port()
    session = session_factory("--app", "app", "--port", str(port))
    error = session.wait_event("load_error")
    assert error["filename"] == str(app)
    assert error["lineno"] == 9
    assert "SyntaxError" in error["message"] or (error["exception"] or {}).get("type") == "SyntaxError"

    mark = session.mark()
    write_app(tmp_path, SIMPLE_APP)
    # A worker serving the load error may still announce itself after the mark:
    # the fixed code is served once the reload the save caused has completed.
    session.wait_event("reload", lambda e: e["filename"] == str(app), since=mark, timeout=30)
    wait_for(lambda: http(port, "/")[:2] == (200, "hello"), timeout=30, what="the fixed app served")


def test_import_error_is_reported_with_its_message(tmp_path: Path, session_factory) -> None:
    write_app(tmp_path, "import no_such_module_here\n")
    session = session_factory("--app", "app", "--port", str(free_port()), "--no-reload")
    error = session.wait_event("load_error")
    assert "no_such_module_here" in error["message"]


def test_editing_an_imported_file_reloads_and_serves_the_new_code(tmp_path: Path, session_factory) -> None:
    write_app(tmp_path, 'GREETING = "hello"\n', name="words.py")
    write_app(tmp_path, """
        from flask import Flask
        from words import GREETING

        app = Flask(__name__)

        @app.route("/")
        def index():
            return GREETING
    """)
    port = free_port()
    session = session_factory("--app", "app", "--port", str(port))
    first = session.wait_event("ready")
    assert first["reloader"] is True
    assert http(port, "/")[1] == "hello"

    mark = session.mark()
    rewrite(tmp_path / "words.py", 'GREETING = "bonjour"\n')
    reload = session.wait_event("reload", since=mark)
    assert reload["filename"] == str(tmp_path / "words.py")
    assert reload["reloader"]
    second = session.wait_event("ready", since=mark)
    assert second["pid"] != first["pid"]
    assert http(port, "/")[1] == "bonjour"


def test_debugger_toggle_is_live_and_gates_by_peer(tmp_path: Path, session_factory) -> None:
    write_app(tmp_path, SIMPLE_APP)
    port = free_port()
    session = session_factory("--app", "app", "--port", str(port), "--no-reload")
    ready = session.wait_event("ready")

    status, body, _ = http(port, "/boom")
    assert status == 500 and "Werkzeug Debugger" in body
    status, body, _ = http(port, "/boom", source="127.0.0.2")
    assert status == 500 and "Werkzeug Debugger" not in body and "Traceback" not in body
    assert http(port, "/console", source="127.0.0.2")[0] == 404

    mark = session.mark()
    result = session.cli("toggle", "debugger", "off")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "debugger off"
    session.wait_event("gate", lambda e: e["debugger"] is False, since=mark)
    status, body, _ = http(port, "/boom")
    assert status == 500 and "Werkzeug Debugger" not in body
    assert http(port, "/console")[0] == 404
    assert session.named("toggles")[-1]["debugger"] is False

    session.cli("toggle", "debugger", "on")
    session.wait_event("gate", lambda e: e["debugger"] is True, since=mark)
    assert "Werkzeug Debugger" in http(port, "/boom")[1]
    # Live: the same server process throughout.
    assert session.named("ready")[-1]["pid"] == ready["pid"]
    assert len(session.named("ready")) == 1


def test_reloader_toggle_restarts_with_or_without_it(tmp_path: Path, session_factory) -> None:
    write_app(tmp_path, SIMPLE_APP)
    port = free_port()
    session = session_factory("--app", "app", "--port", str(port))
    first = session.wait_event("ready")
    assert first["reloader"] is True
    mark = session.mark()
    assert session.cli("toggle", "reloader").stdout.strip() == "reloader off"
    second = session.wait_event("ready", since=mark)
    assert second["reloader"] is False and second["pid"] != first["pid"]
    assert http(port, "/")[0] == 200


def test_status_reports_the_running_session(tmp_path: Path, session_factory) -> None:
    write_app(tmp_path, SIMPLE_APP)
    port = free_port()
    session = session_factory("--app", "app", "--port", str(port), "--no-reload")
    ready = session.wait_event("ready")
    result = session.cli("status")
    assert result.returncode == 0
    assert f"http://127.0.0.1:{port}" in result.stdout
    assert session.pin() in result.stdout
    import json

    data = json.loads(session.cli("status", "--json").stdout)
    assert data["pid"] == ready["pid"] and data["toggles"]["debugger"] is True


def test_control_commands_without_a_session_say_how_to_start_one(tmp_path: Path) -> None:
    from tests.support import run_cli

    result = run_cli("status", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("Error: no debugdash session is running")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("path", ["spare", "template"])
def test_reloads_use_a_warm_worker_and_no_request_is_refused_or_cut(tmp_path: Path, session_factory, path: str) -> None:
    app = write_app(tmp_path, SIMPLE_APP.replace('"hello"', '"v0"'))
    port = free_port()
    # The warm spare serves reloads when no template may (issue 15); else a worker forked from the template.
    session = session_factory("--app", "app", "--port", str(port), env={"DEBUGDASH_TEMPLATE": "0"} if path == "spare" else {})
    session.wait_event("ready")
    if path == "template":
        session.wait_event("template", timeout=60)
    supervisor = psutil.Process(session.proc.pid)
    listening = [c for c in supervisor.net_connections("tcp") if c.status == psutil.CONN_LISTEN]
    assert [c.laddr.port for c in listening] == [port], "debugdash holds the port across workers"

    for version in (1, 2):
        # A spare worker, Flask already imported, waits for the next reload.
        spare = wait_for(lambda: [p for p in supervisor.children() if p.pid != session.named("ready")[-1]["pid"]], what="a warm spare")[0]
        mark = session.mark()
        outcomes: list[str] = []
        stop = threading.Event()

        def hammer() -> None:
            # Every outcome is kept: a refused, reset or cut request is a failure.
            while not stop.is_set():
                try:
                    status, body, _ = http(port, "/", timeout=60)
                    outcomes.append(f"{status} {body}")
                except Exception as e:
                    outcomes.append(f"{type(e).__name__}: {e}")

        thread = threading.Thread(target=hammer)
        thread.start()
        try:
            wait_for(lambda: outcomes, what="the first request under load")
            rewrite(app, SIMPLE_APP.replace('"hello"', f'"v{version}"'))
            ready = session.wait_event("ready", since=mark)
            wait_for(lambda v=version: http(port, "/")[1] == f"v{v}", what="new code served")
            count = len(outcomes)
            wait_for(lambda: len(outcomes) > count, what="a request answered after the reload")
        finally:
            stop.set()
            thread.join()
        if path == "spare":
            assert ready["pid"] == spare.pid, "the warm spare became the worker"
        else:
            assert session.named("started", since=mark)[-1]["via"] == "template"
        allowed = {f"200 v{version - 1}", f"200 v{version}"}
        failed = [o for o in outcomes if o not in allowed]
        assert not failed, f"{len(failed)} of {len(outcomes)} requests failed during the reload: {failed[:5]}"


SLOW_APP = """
    import time
    from pathlib import Path
    from flask import Flask

    app = Flask(__name__)

    @app.route("/")
    def index():
        return "VERSION"

    @app.route("/slow")
    def slow():
        Path("entered").touch()
        deadline = time.monotonic() + 60
        while not Path("release").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return "slow done"
"""


def test_a_request_in_progress_when_a_reload_starts_is_answered_in_full(tmp_path: Path, session_factory) -> None:
    app = write_app(tmp_path, SLOW_APP.replace("VERSION", "v0"))
    port = free_port()
    session = session_factory("--app", "app", "--port", str(port))
    first = session.wait_event("ready")
    outcome: list[object] = []
    client = threading.Thread(target=lambda: outcome.append(_outcome(port, "/slow")))
    client.start()
    try:
        wait_for(lambda: (tmp_path / "entered").exists(), what="the slow request in the view")
        mark = session.mark()
        rewrite(app, SLOW_APP.replace("VERSION", "v1"))
        session.wait_event("reload", since=mark)
        # The old worker saw the change while answering: it must finish first.
        (tmp_path / "release").touch()
        second = session.wait_event("ready", since=mark)
    finally:
        (tmp_path / "release").touch()
        client.join(timeout=90)
    assert outcome == [(200, "slow done")]
    assert second["pid"] != first["pid"]
    assert http(port, "/")[:2] == (200, "v1")


def _outcome(port: int, path: str) -> object:
    try:
        return http(port, path, timeout=90)[:2]
    except Exception as e:
        return f"{type(e).__name__}: {e}"
