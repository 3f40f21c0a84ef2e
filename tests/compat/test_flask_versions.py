"""Every supported Flask line, as users run it: the app in its own virtualenv
(Flask 2.2 without blinker or python-dotenv, 2.3, 3.0, the latest), debugdash
in an environment of its own as pipx installs it, started from the app's
folder with the app's virtualenv active.

Each app is served, reports a failing request with its frames, reloads when
a file is saved, and keeps the debugger to this machine and to trusted Host
names."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.compat.environments import FLASK_LINES, FlaskLine, app_python, pipx_debugdash
from tests.support import Session, debugger_page, free_port, http, write_app

FACTORY_PACKAGE = {
    "shop/__init__.py": """
        from flask import Flask


        def create_app():
            app = Flask(__name__)
            from shop.views import bp

            app.register_blueprint(bp)
            return app
    """,
    "shop/views.py": """
        from flask import Blueprint

        bp = Blueprint("shop", __name__)


        @bp.route("/")
        def index():
            return "version one"


        @bp.route("/cart")
        def cart():
            items = {"apples": 3}
            return str(items["pears"])
    """,
}

SCRIPT = """
    from flask import Flask

    app = Flask(__name__)


    @app.route("/")
    def index():
        return "version one"


    @app.route("/cart")
    def cart():
        items = {"apples": 3}
        return str(items["pears"])


    if __name__ == "__main__":
        app.run(debug=True)
"""


@pytest.fixture(scope="module")
def debugdash_alone() -> list[str]:
    command = pipx_debugdash()
    python = Path(command[0]).with_name("python")
    missing = subprocess.run(
        [str(python), "-c", "import importlib.util as u; print(u.find_spec('dotenv') is None)"],
        capture_output=True, text=True, timeout=60,
    )
    assert missing.stdout.strip() == "True", "debugdash's own environment must not have python-dotenv"
    return command


@pytest.fixture(params=FLASK_LINES, ids=[line.name for line in FLASK_LINES])
def flask_line(request) -> tuple[FlaskLine, Path]:
    line: FlaskLine = request.param
    return line, app_python(line)


def _activated(python: Path) -> dict[str, str]:
    """The environment of a shell where the app's virtualenv is active."""
    venv = python.parent.parent
    return {"VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}


def _serves_reports_reloads_and_gates(session: Session, port: int, changed: Path) -> None:
    ready = session.wait_event("ready", timeout=60)
    assert ready["port"] == port and ready["debugger"] is True and ready["reloader"] is True
    assert http(port, "/")[:2] == (200, "version one")

    status, debugger_page_body, _ = http(port, "/cart")
    assert status == 500 and debugger_page(debugger_page_body), "the debugger serves this machine"
    error = session.wait_event("request_error", lambda e: e["path"] == "/cart")
    [exception] = error["chain"]
    assert exception["type"] == "KeyError"
    raised_at = exception["frames"][-1]
    assert Path(raised_at["filename"]) == changed and raised_at["function"].endswith("cart")
    assert raised_at["locals"]["items"] == "{'apples': 3}"

    status, body, _ = http(port, "/cart", source="127.0.0.2")
    assert status == 500 and not debugger_page(body), "another address gets a plain 500"

    # The Host check against DNS rebinding holds on every Werkzeug (Werkzeug
    # itself checks only from 3.0.3): a page that names another Host gets
    # neither the console nor the PIN prompt, and the refusal is reported.
    secret = re.search(r'SECRET = "([^"]+)"', debugger_page_body).group(1)
    foreign = {"Host": f"rebound.example:{port}"}
    for door in ("/console", f"/?__debugger__=yes&cmd=pinauth&pin=000-000-000&s={secret}"):
        status, body, _ = http(port, door, headers=foreign)
        assert status == 400 and "auth" not in body and "Console" not in body, (door, status, body[:200])
    session.wait_event("access_refused", lambda e: e["host"] == "rebound.example")

    mark = session.mark()
    changed.write_text(changed.read_text().replace("version one", "version two"))
    reload = session.wait_event("reload", since=mark, timeout=30)
    assert Path(reload["filename"]) == changed
    session.wait_event("ready", since=mark, timeout=60)
    assert http(port, "/")[:2] == (200, "version two")


def test_an_app_factory_with_a_blueprint(tmp_path: Path, flask_line, debugdash_alone) -> None:
    line, python = flask_line
    for name, source in FACTORY_PACKAGE.items():
        write_app(tmp_path, source, name)
    port = free_port()
    if line.dotenv:
        # Configured the way such projects are: FLASK_APP in .flaskenv, read by the app's python-dotenv.
        (tmp_path / ".flaskenv").write_text(f"FLASK_APP=shop\nFLASK_RUN_PORT={port}\n")
        args: tuple[str, ...] = ()
    else:
        args = ("--app", "shop", "--port", str(port))
    session = Session(*args, cwd=tmp_path, env=_activated(python), executable=debugdash_alone)
    try:
        _serves_reports_reloads_and_gates(session, port, tmp_path / "shop" / "views.py")
    finally:
        session.close()


def test_a_script_that_calls_app_run(tmp_path: Path, flask_line, debugdash_alone) -> None:
    _line, python = flask_line
    script = write_app(tmp_path, SCRIPT, "serve.py")
    port = free_port()
    session = Session("--script", "serve.py", "--port", str(port), cwd=tmp_path, env=_activated(python),
                      executable=debugdash_alone)
    try:
        _serves_reports_reloads_and_gates(session, port, script)
    finally:
        session.close()

