"""The server runs in the app's own interpreter, which need not have debugdash."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.support import SIMPLE_APP, Session, free_port, http, write_app


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

    write_app(tmp_path, SIMPLE_APP)
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
        server = psutil.Process(ready["pid"])
        assert Path(server.exe()).resolve() == python.resolve() or server.cmdline()[0] == str(python)
        assert http(port, "/boom")[0] == 500
        error = session.wait_event("request_error")
        assert error["chain"][-1]["type"] == "ZeroDivisionError"
        # The reloader works there too, and leaves the app's sys.path free of our environment.
        assert ready["reloader"] is True
    finally:
        session.close()
