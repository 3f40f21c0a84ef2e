"""The server runs in the app's own interpreter, which need not have debugdash."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import SIMPLE_APP, Session, free_port, http, write_app

#: The simple app, plus a route that shows which environment serves it.
APP = SIMPLE_APP + """
    import json
    import sys

    @app.route("/environment")
    def environment():
        return json.dumps({"prefix": sys.prefix, "path": sys.path})
"""


@pytest.fixture(scope="module")
def flask_only_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("flask-only") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "flask"],
        capture_output=True, text=True, timeout=300,
    )
    if result.returncode != 0:
        pytest.fail(f"could not install Flask into a fresh virtualenv: {result.stderr[-500:]}")
    return venv


def _imports(python: Path, module: str) -> bool:
    return subprocess.run([str(python), "-c", f"import {module}"], capture_output=True, timeout=60, cwd=python.parent).returncode == 0


@pytest.mark.parametrize("how", ["--python", "VIRTUAL_ENV"])
def test_server_runs_in_a_virtualenv_holding_only_flask(tmp_path: Path, flask_only_venv: Path, how: str) -> None:
    python = flask_only_venv / "bin" / "python"
    assert _imports(python, "flask")
    assert not _imports(python, "debugdash") and not _imports(python, "textual")

    write_app(tmp_path, APP)
    port = free_port()
    args = ["--app", "app", "--port", str(port)]
    env = {}
    if how == "--python":
        args += ["--python", str(python)]
    else:
        env["VIRTUAL_ENV"] = str(flask_only_venv)
    session = Session(*args, cwd=tmp_path, env=env)
    try:
        ready = session.wait_event("ready")
        # Every venv's python is a link to the same base binary: only the prefix
        # of the serving process tells which environment it runs in.
        status, body, _ = http(port, "/environment")
        assert status == 200, body
        served = json.loads(body)
        assert Path(served["prefix"]).resolve() == flask_only_venv.resolve()
        # The reloader works there too, and leaves the app's sys.path free of our environment.
        assert ready["reloader"] is True
        ours = Path(sys.prefix).resolve()
        leaked = [p for p in served["path"] if p and Path(p).resolve().is_relative_to(ours)]
        assert not leaked, f"debugdash's environment on the app's sys.path: {leaked}"
        assert http(port, "/boom")[0] == 500
        error = session.wait_event("request_error")
        assert error["chain"][-1]["type"] == "ZeroDivisionError"
    finally:
        session.close()
