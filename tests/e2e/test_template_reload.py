"""Reloads forked from a preloaded template (issue 15): correct code, fresh state.

A real `debugdash --headless --json` serves an app whose library lives in a
throwaway site-packages (an interpreter environment of the test's own, with
the test venv's packages reachable through a ``.pth`` file), so the test can
edit an installed package the way ``pip install -U`` would. The ``template``
event says a template is ready; ``started``'s ``via`` says which path served
each reload.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import site
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest

from tests.support import Session, alive, free_port, http, wait_for, write_app

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the template forks: Linux only")

APP = """
    import json
    import logging
    import os
    import random
    import signal
    import sys

    from flask import Flask, render_template

    import helper
    import libby

    app = Flask(__name__)

    @app.route("/")
    def index():
        return f"{helper.VALUE} {libby.VALUE}"

    @app.route("/lazy")
    def lazy():
        import lazylib  # installed before the start, imported only here

        return lazylib.VALUE

    @app.route("/page")
    def page():
        return render_template("page.html")

    @app.route("/state")
    def state():
        return json.dumps({
            "pid": os.getpid(),
            "cwd": os.getcwd(),
            "argv": sys.argv,
            "env": dict(os.environ),
            "signals": {str(int(s)): repr(signal.getsignal(s)) for s in signal.valid_signals()},
            "logging": [repr(h) for h in logging.getLogger().handlers] + [str(logging.getLogger().level)],
            "random": random.random(),
            "threads": sorted(t.name for t in __import__("threading").enumerate()),
        })
"""

THREADED = """
    import threading
    import time

    VALUE = "threaded"
    threading.Thread(target=time.sleep, args=(3600,), daemon=True, name="poller").start()
"""


class App:
    """An app in ``tmp/app`` served by debugdash with the python of ``tmp/env``."""

    def __init__(self, tmp_path: Path, *, extra_libraries: dict[str, str] | None = None, lazy: bool = False) -> None:
        self.root = tmp_path / "app"
        self.python = _environment(tmp_path / "env")
        self.site = Path(subprocess.run(
            [str(self.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True, timeout=60,
        ).stdout.strip())
        self.write_library("libby", 'VALUE = "lib-1"\n')
        if lazy:
            self.write_library("lazylib", 'VALUE = "lazy-1"\n')
        for name, source in (extra_libraries or {}).items():
            self.write_library(name, source)
        app = APP
        for name in extra_libraries or {}:
            app = app.replace("import libby\n", f"import libby\n    import {name}\n")
        write_app(self.root, app)
        write_app(self.root, 'VALUE = "project-1"\n', "helper.py")
        write_app(self.root, "page one\n", "templates/page.html")
        self.port = free_port()
        self.session = Session("--app", "app", "--port", str(self.port), "--python", str(self.python), cwd=self.root)
        self.session.wait_event("ready", timeout=60)

    def write_library(self, name: str, source: str) -> None:
        package = self.site / name
        package.mkdir(exist_ok=True)
        (package / "__init__.py").write_text(textwrap.dedent(source))

    def wait_template(self, since: int = 0) -> dict:
        return self.session.wait_event("template", since=since, timeout=120)

    def edit(self, path: Path, text: str) -> dict:
        """Write ``path`` and return the ``started`` event of the worker that follows."""
        mark = self.session.mark()
        path.write_text(text)
        started = self.session.wait_event("started", lambda e: e["reason"] == "reload", since=mark, timeout=60)
        self.session.wait_event("ready", lambda e: e["pid"] == started["pid"], since=mark, timeout=60)
        return started

    def get(self, path: str) -> str:
        status, body, _ = http(self.port, path, timeout=30)
        assert status == 200, body
        return body

    def state(self) -> dict:
        return json.loads(self.get("/state"))


def _environment(home: Path) -> Path:
    """An interpreter environment of the test's own, which reaches the test venv's packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home)], check=True, timeout=120)
    python = home / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()
    (Path(purelib) / "test-venv.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return python


@pytest.fixture
def served(tmp_path: Path):
    made: list[App] = []

    def start(**kwargs) -> App:
        made.append(App(tmp_path, **kwargs))
        return made[-1]

    yield start
    for app in made:
        app.session.close()


def test_a_reload_through_the_template_serves_the_new_project_code_and_template_file(served) -> None:
    app = served()
    app.wait_template()
    started = app.edit(app.root / "helper.py", 'VALUE = "project-2"\n')
    assert started["via"] == "template"
    assert app.get("/") == "project-2 lib-1"
    (app.root / "templates" / "page.html").write_text("page two\n")
    assert app.get("/page") == "page two"
    # And again from the same template: it stays usable.
    assert app.edit(app.root / "helper.py", 'VALUE = "project-3"\n')["via"] == "template"
    assert app.get("/") == "project-3 lib-1"


def test_a_changed_installed_package_rebuilds_the_template_and_its_new_code_is_served(served) -> None:
    app = served()
    first = app.wait_template()
    mark = app.session.mark()
    started = app.edit(app.site / "libby" / "__init__.py", 'VALUE = "lib-2"\n')
    assert started["via"] != "template", "a template that preloaded the old library must not serve"
    assert app.get("/") == "project-1 lib-2"
    rebuilt = app.wait_template(since=mark)
    assert rebuilt["pid"] != first["pid"]
    assert app.edit(app.root / "helper.py", 'VALUE = "project-2"\n')["via"] == "template"
    assert app.get("/") == "project-2 lib-2"


def test_a_library_the_worker_imports_later_gets_a_new_template_without_a_reload(served) -> None:
    # The template sleeps until its directories change (inotify): the worker's new
    # list of modules must still wake it, and it must ask for a template that has it.
    app = served(lazy=True)
    first = app.wait_template()
    mark = app.session.mark()
    assert app.get("/lazy") == "lazy-1"
    rebuilt = app.wait_template(since=mark)
    assert rebuilt["pid"] != first["pid"]
    assert not app.session.named("reload", since=mark)
    assert app.edit(app.root / "helper.py", 'VALUE = "project-2"\n')["via"] == "template"
    assert app.get("/lazy") == "lazy-1" and app.get("/") == "project-2 lib-1"


def test_a_package_that_starts_a_thread_at_import_is_left_out_and_reloads_still_work(served) -> None:
    app = served(extra_libraries={"threaded": THREADED})
    ready = app.wait_template()
    assert ready["excluded"] == ["threaded"]
    notices = [e["message"] for e in app.session.named("notice") if "threaded" in e["message"]]
    assert len(notices) == 1 and "thread" in notices[0]
    assert app.edit(app.root / "helper.py", 'VALUE = "project-2"\n')["via"] == "template"
    assert app.get("/") == "project-2 lib-1"
    # The worker imported it itself: its thread runs there, not in the template.
    assert "poller" in app.state()["threads"]


def test_a_package_that_opens_a_socket_at_import_is_left_out(served) -> None:
    app = served(extra_libraries={"chatty": "import socket\nVALUE = 1\n_probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"})
    assert app.wait_template()["excluded"] == ["chatty"]
    assert any("chatty" in e["message"] and "socket" in e["message"] for e in app.session.named("notice"))
    assert app.edit(app.root / "helper.py", 'VALUE = "project-2"\n')["via"] == "template"
    assert app.get("/") == "project-2 lib-1"


def _comparable(state: dict) -> dict:
    pid = str(state["pid"])
    env = dict(state["env"])
    # Each process names itself as the parent its own children check against.
    assert env.pop("DEBUGDASH_PARENT_PID") == pid
    return {
        "cwd": state["cwd"],
        "argv": state["argv"],
        "env": env,
        # Handlers are compared by what they are, not where they sit in memory.
        "signals": {k: re.sub(r" at 0x[0-9a-f]+", "", v) for k, v in state["signals"].items()},
        "logging": state["logging"],
    }


def test_a_forked_worker_looks_like_a_fresh_one(served) -> None:
    app = served()
    app.wait_template()
    fresh = app.state()  # the first worker, started as a new process
    forked = []
    for n in (2, 3):
        assert app.edit(app.root / "helper.py", f'VALUE = "project-{n}"\n')["via"] == "template"
        forked.append(app.state())
    assert _comparable(forked[0]) == _comparable(fresh)
    assert _comparable(forked[1]) == _comparable(fresh)
    assert forked[0]["random"] != forked[1]["random"], "random must be reseeded in each forked worker"


SIGNALS = {"SIGTERM": signal.SIGTERM, "SIGINT": signal.SIGINT, "SIGHUP": signal.SIGHUP, "SIGKILL": signal.SIGKILL}


@pytest.mark.parametrize("how", list(SIGNALS))
def test_no_template_process_survives_debugdash(served, how: str) -> None:
    app = served()
    template = app.wait_template()
    app.edit(app.root / "helper.py", 'VALUE = "project-2"\n')
    procs = app.session.tree()
    assert template["pid"] in {p.pid for p in procs}
    # The forked worker and the template's own guard are below the template.
    assert len(psutil.Process(template["pid"]).children()) >= 2
    app.session.signal(SIGNALS[how])
    app.session.wait_exit(timeout=15)
    try:
        wait_for(lambda: not alive(procs), timeout=5)
    except AssertionError:
        raise AssertionError(f"still alive: {_describe(alive(procs))}") from None


def _describe(procs: list[psutil.Process]) -> str:
    out = []
    for proc in procs:
        try:
            wchan = Path(f"/proc/{proc.pid}/wchan").read_text()
            out.append(f"{proc.pid} {proc.status()} parent {proc.ppid()} in {wchan}: {' '.join(proc.cmdline())[:80]}")
        except (psutil.Error, OSError):
            out.append(str(proc.pid))
    return "; ".join(out)


def test_without_the_template_the_warm_spare_serves_and_says_so(tmp_path: Path) -> None:
    write_app(tmp_path, 'from flask import Flask\nimport helper\napp = Flask(__name__)\napp.get("/")(lambda: helper.VALUE)\n')
    write_app(tmp_path, 'VALUE = "one"\n', "helper.py")
    port = free_port()
    session = Session("--app", "app", "--port", str(port), cwd=tmp_path, env={"DEBUGDASH_TEMPLATE": "0"})
    try:
        session.wait_event("ready", timeout=60)
        wait_for(lambda: len(psutil.Process(session.proc.pid).children()) >= 2, timeout=60, what="the warm spare")
        mark = session.mark()
        (tmp_path / "helper.py").write_text('VALUE = "two"\n')
        started = session.wait_event("started", lambda e: e["reason"] == "reload", since=mark, timeout=60)
        assert started["via"] == "spare"
        wait_for(lambda: http(port, "/")[1] == "two", timeout=30, what="the new code")
        assert session.named("template") == []
    finally:
        session.close()


NUMPY_APP = """
    import os

    import numpy
    from flask import Flask

    import helper

    app = Flask(__name__)

    @app.route("/")
    def index():
        return helper.VALUE

    @app.route("/product")
    def product():
        # Large enough for OpenBLAS to split the work over its thread pool.
        n = 600
        a = numpy.arange(n * n, dtype=numpy.float64).reshape(n, n) % 7
        b = numpy.ones((n, n))
        c = a @ b
        expected = [float(sum(int(v) for v in a[i])) for i in (0, n // 2, n - 1)]
        ok = [float(c[i, j]) for i, j in ((0, 0), (n // 2, 5), (n - 1, n - 1))] == expected
        return f"{ok} {len(os.listdir('/proc/self/task'))}"
"""


def test_numpy_is_preloaded_and_its_thread_pool_works_in_the_forked_worker(tmp_path: Path) -> None:
    from tests.compat.environments import _build, _key, _pip

    python = _build("numpy-flask", _key("flask", "numpy"), lambda py: _pip(py, "flask", "numpy"))
    write_app(tmp_path, NUMPY_APP)
    write_app(tmp_path, 'VALUE = "one"\n', "helper.py")
    port = free_port()
    session = Session("--app", "app", "--port", str(port), "--python", str(python), cwd=tmp_path)
    try:
        session.wait_event("ready", timeout=60)
        assert session.wait_event("template", timeout=120)["excluded"] == []
        mark = session.mark()
        (tmp_path / "helper.py").write_text('VALUE = "two"\n')
        started = session.wait_event("started", lambda e: e["reason"] == "reload", since=mark, timeout=60)
        assert started["via"] == "template"
        session.wait_event("ready", lambda e: e["pid"] == started["pid"], since=mark, timeout=60)
        status, body, _ = http(port, "/product", timeout=60)
        assert (status, body.split()[0]) == (200, "True"), body
    finally:
        session.close()


def _templates_below(root: psutil.Process) -> list[psutil.Process]:
    found = []
    for child in root.children(recursive=True):
        try:
            if child.environ().get("DEBUGDASH_TEMPLATE_FD"):
                found.append(child)
        except psutil.Error:
            continue
    return found


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed: `q` needs a real terminal")
def test_q_in_the_dashboard_ends_the_template_and_its_worker(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    write_app(tmp_path, 'from flask import Flask\nimport helper\napp = Flask(__name__)\napp.get("/")(lambda: helper.VALUE)\n')
    write_app(tmp_path, 'VALUE = "one"\n', "helper.py")
    port = free_port()
    tmux = ["tmux", "-S", str(tmp_path_factory.mktemp("tmux") / "s")]
    command = ["env", "-u", "COLUMNS", "-u", "LINES", "TERM=xterm-256color", sys.executable, "-m", "debugdash", "--app", "app", "--port", str(port)]
    subprocess.run([*tmux, "-f", "/dev/null", "new-session", "-d", "-s", "dash", "-x", "100", "-y", "30", "-c", str(tmp_path), " ".join(command)], check=True, timeout=30)
    procs: list[psutil.Process] = []
    try:
        pane = psutil.Process(int(subprocess.run([*tmux, "display", "-p", "-t", "dash", "#{pane_pid}"], capture_output=True, text=True, timeout=30).stdout))
        # The warm spare starts once the template is ready: worker, template and spare.
        wait_for(lambda: _templates_below(pane) and len(pane.children()) >= 3, timeout=60, what="a ready template")
        # A reload, so that a worker forked from the template serves.
        (tmp_path / "helper.py").write_text('VALUE = "two"\n')
        wait_for(lambda: http(port, "/")[1] == "two", timeout=30, what="the new code")
        # Its guard and the forked worker.
        wait_for(lambda: any(len(t.children()) >= 2 for t in _templates_below(pane)), timeout=30, what="a worker forked from a template")
        procs = [pane, *pane.children(recursive=True)]
        subprocess.run([*tmux, "send-keys", "-t", "dash", "q"], check=True, timeout=30)
        wait_for(lambda: not alive(procs), timeout=10, what="every process gone after q")
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, timeout=30)
        for proc in alive(procs):
            proc.kill()
