"""The reloader (reload events, new workers) and load errors, with recovery."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

from debugdash.protocol.events import LoadError, Ready, Reload

from tests.agent.agentkit import ServerFactory, free_port, http_get, stderr_of

APP = textwrap.dedent(
    """
    from flask import Flask

    import helper

    app = Flask(__name__)


    @app.get("/")
    def index():
        return helper.GREETING
    """
)


def _write(path: Path, text: str) -> None:
    # A different size as well as a new mtime: the change is seen even on coarse clocks.
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def _project(tmp_path: Path, greeting: str = "hello") -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text(APP)
    (project / "helper.py").write_text(f"GREETING = {greeting!r}\n")
    return project


def _start_reloading(start_server: ServerFactory, project: Path, wait_ready: bool = True):
    port = free_port()
    return start_server(
        "app",
        flask_args=["--debug", "run", "--port", str(port), "--reload"],
        port=port,
        cwd=project,
        wait_ready=wait_ready,
    )


def test_editing_an_imported_file_reloads_into_a_new_worker(start_server, tmp_path) -> None:
    project = _project(tmp_path)
    server = _start_reloading(start_server, project)
    first = server.ready
    assert (first.reloader, first.reloader_type) == (True, "debugdash-stat")
    assert first.pid != server.proc.pid  # the worker, not the reloader parent
    roles = {c.hello.pid: c.hello.role for c in server.supervisor.connections}
    assert roles == {server.proc.pid: "reloader", first.pid: "worker"}
    assert http_get(server.port, "/").body == "hello"

    mark = server.supervisor.mark()
    _write(project / "helper.py", "GREETING = 'hello again'\n")
    reload = server.supervisor.wait(Reload, since=mark)
    assert reload.filename == str(project / "helper.py")
    assert (reload.reloader, reload.pid) == ("debugdash-stat", first.pid)
    second = server.supervisor.wait(Ready, since=mark)
    assert second.pid != first.pid and second.port == server.port
    assert http_get(server.port, "/").body == "hello again"
    # The reload event went out before the new worker said it was ready.
    events = server.supervisor.events[mark:]
    assert events.index(reload) < events.index(second)


def test_syntax_error_on_reload_keeps_serving_and_recovers_when_fixed(start_server, tmp_path) -> None:
    project = _project(tmp_path)
    server = _start_reloading(start_server, project)
    sup = server.supervisor

    mark = sup.mark()
    broken = APP + "\ndef oops(:\n    pass\n"
    _write(project / "app.py", broken)
    sup.wait(Reload, since=mark, filename=str(project / "app.py"))
    error = sup.wait(LoadError, since=mark)
    assert error.filename == str(project / "app.py")
    assert error.lineno == broken.splitlines().index("def oops(:") + 1
    assert error.exception.type == "SyntaxError"
    broken_worker = sup.wait(Ready, since=mark)
    assert http_get(server.port, "/").status == 500  # Flask serves the load error

    mark = sup.mark()
    _write(project / "app.py", APP.replace("helper.GREETING", "'fixed'"))
    sup.wait(Reload, since=mark, filename=str(project / "app.py"))
    recovered = sup.wait(Ready, since=mark)
    assert recovered.pid != broken_worker.pid
    assert http_get(server.port, "/").body == "fixed"


def test_failing_import_reports_the_message_and_the_line(start_server, tmp_path) -> None:
    project = _project(tmp_path)
    (project / "app.py").write_text("import os\nimport no_such_module_here\n")
    server = start_server("app", cwd=project, wait_ready=False)
    error = server.supervisor.wait(LoadError)
    assert "no_such_module_here" in error.message
    assert (error.filename, error.lineno) == (str(project / "app.py"), 2)
    assert server.proc.wait(timeout=15) != 0


def test_syntax_error_at_start_names_file_and_line(start_server, tmp_path) -> None:
    project = _project(tmp_path)
    (project / "app.py").write_text("from flask import Flask\napp = Flask(__name__\n")
    server = start_server("app", cwd=project, wait_ready=False)
    error = server.supervisor.wait(LoadError)
    assert error.filename == str(project / "app.py")
    assert error.lineno == 2
    assert server.proc.wait(timeout=15) != 0


def test_unknown_app_reports_flasks_message(start_server, tmp_path) -> None:
    server = start_server("no_such_app_module", wait_ready=False)
    error = server.supervisor.wait(LoadError)
    assert "Could not import 'no_such_app_module'" in error.message
    assert server.proc.wait(timeout=15) == 2


def test_app_factory_and_module_name_forms_load(start_server, tmp_path) -> None:
    project = tmp_path / "pkg_project"
    (project / "shop").mkdir(parents=True)
    (project / "shop" / "__init__.py").write_text(
        "from flask import Flask\n\ndef create_app():\n    app = Flask('shop')\n"
        "    app.add_url_rule('/', 'i', lambda: 'factory')\n    return app\n"
    )
    server = start_server("shop:create_app()", cwd=project)
    assert http_get(server.port, "/").body == "factory"
    assert server.ready.debug is False


def test_flaskenv_discovery_is_flasks_own(start_server, tmp_path) -> None:
    project = _project(tmp_path, greeting="from flaskenv")
    (project / ".flaskenv").write_text("FLASK_APP=app\n")
    server = start_server(None, cwd=project)
    assert http_get(server.port, "/").body == "from flaskenv"


def test_module_colon_name_and_flask_app_env_forms_load(start_server, tmp_path) -> None:
    project = _project(tmp_path, greeting="named")
    assert http_get(start_server("app:app", cwd=project).port, "/").body == "named"
    assert http_get(start_server(None, cwd=project, env={"FLASK_APP": "app"}).port, "/").body == "named"


def test_broken_at_start_with_the_reloader_keeps_watching_and_recovers(start_server, tmp_path) -> None:
    project = _project(tmp_path)
    broken = APP.replace("import helper", "import helper\nimport no_such_module_here")
    (project / "app.py").write_text(broken)
    server = _start_reloading(start_server, project, wait_ready=False)
    sup = server.supervisor
    error = sup.wait(LoadError)
    assert "no_such_module_here" in error.message
    assert (error.filename, error.lineno) == (str(project / "app.py"), broken.splitlines().index("import no_such_module_here") + 1)
    ready = sup.wait(Ready)
    assert error.pid == ready.pid  # reported once, by the worker that serves the error
    assert len(sup.of(LoadError)) == 1
    assert http_get(server.port, "/").status == 500

    mark = sup.mark()
    _write(project / "app.py", APP)
    sup.wait(Reload, since=mark, filename=str(project / "app.py"))
    assert sup.wait(Ready, since=mark).pid != ready.pid
    assert http_get(server.port, "/").body == "hello"


def test_unknown_app_with_the_reloader_still_fails_at_once(start_server) -> None:
    port = free_port()
    server = start_server(
        "no_such_app_module", flask_args=["--debug", "run", "--reload", "--port", str(port)], port=port, wait_ready=False
    )
    assert "Could not import" in server.supervisor.wait(LoadError).message
    assert server.proc.wait(timeout=15) == 2


def test_debugdash_reload_overrides_flasks_reload_flags(start_server, tmp_path) -> None:
    project = _project(tmp_path)
    port = free_port()
    forced_on = start_server(
        "app", flask_args=["run", "--no-reload", "--port", str(port)], port=port, cwd=project,
        env={"DEBUGDASH_RELOAD": "1"},
    )
    assert forced_on.ready.reloader and forced_on.ready.pid != forced_on.proc.pid
    roles = sorted(c.hello.role for c in forced_on.supervisor.connections)
    assert roles == ["reloader", "worker"]
    assert forced_on.ready.pin not in stderr_of(forced_on.proc)

    port = free_port()
    forced_off = start_server(
        "app", flask_args=["--debug", "run", "--reload", "--port", str(port)], port=port, cwd=project,
        env={"DEBUGDASH_RELOAD": "0"},
    )
    assert not forced_off.ready.reloader and forced_off.ready.pid == forced_off.proc.pid
    assert [c.hello.role for c in forced_off.supervisor.connections] == ["server"]
