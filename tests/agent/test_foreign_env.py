"""The agent inside another virtualenv that holds only Flask, reached through a symlink.

The supervisor puts a directory holding only a ``debugdash`` symlink on
PYTHONPATH; nothing of debugdash (nor psutil, debugpy, Textual) is installed in
the app's environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import flask
import pytest

from debugdash.protocol.events import Ready, RequestError

from tests.agent.agentkit import REPO_ROOT, ServerFactory, TestSupervisor, free_port, http_get

FLASK_ONLY = ("flask", "werkzeug", "jinja2", "markupsafe", "itsdangerous", "click", "blinker")


@pytest.fixture(scope="module")
def flask_only_python(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("flask-only")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True, timeout=120)
    packages = root / "packages"
    packages.mkdir()
    site = Path(flask.__file__).resolve().parents[1]
    for entry in site.iterdir():
        if entry.name.lower().split("-")[0] in FLASK_ONLY:
            (packages / entry.name).symlink_to(entry)
    lib = next((root / "venv" / "lib").iterdir()) / "site-packages"
    (lib / "flask_only.pth").write_text(f"{packages}\n")
    return root / "venv" / "bin" / "python"


def test_agent_runs_in_a_flask_only_environment(flask_only_python: Path, tmp_path: Path) -> None:
    check = subprocess.run(
        [str(flask_only_python), "-c", "import flask, importlib.util as u; print(u.find_spec('debugpy'), u.find_spec('psutil'), u.find_spec('debugdash'))"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert check.stdout.split() == ["None", "None", "None"], check.stderr

    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "debugdash").symlink_to(REPO_ROOT / "debugdash")
    app = tmp_path / "app.py"
    app.write_text("from flask import Flask\napp = Flask(__name__)\n\n@app.get('/fail')\ndef fail():\n    return {}['x']\n")
    supervisor = TestSupervisor()
    factory = ServerFactory(tmp_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "WERKZEUG_", "DEBUGDASH_"))}
    env.update(supervisor.env(), PYTHONPATH=str(shim))
    proc = subprocess.Popen(
        [str(flask_only_python), "-m", "debugdash.agent", "flask", "--app", "app", "--debug", "run", "--port", str(port), "--reload"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    factory.procs.append(proc)
    factory.supervisors.append(supervisor)
    try:
        ready = supervisor.wait(Ready, timeout=30)
        assert ready.reloader and ready.port == port
        assert http_get(port, "/fail").status == 500
        error = supervisor.wait(RequestError, path="/fail")
        assert error.exception.raised_at.filename == str(app)
        supervisor.drop()
        assert proc.wait(timeout=15) == 4
    finally:
        factory.cleanup()


def test_attach_imports_debugpy_from_debugdash_when_the_app_has_none(flask_only_python: Path, tmp_path: Path) -> None:
    import debugpy

    from debugdash.protocol.events import Notice
    from debugdash.protocol.commands import SetAttach

    import socket

    shim = tmp_path / "shim"
    (shim / "debugpy-only").mkdir(parents=True)
    (shim / "debugdash").symlink_to(REPO_ROOT / "debugdash")
    (shim / "debugpy-only" / "debugpy").symlink_to(Path(debugpy.__file__).parent)
    (tmp_path / "app.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    supervisor = TestSupervisor()
    factory = ServerFactory(tmp_path)
    hub = socket.create_server(("127.0.0.1", 0))  # stands in for the supervisor's attach hub
    hub.settimeout(30)
    port, attach_port = free_port(), hub.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "WERKZEUG_", "DEBUGDASH_"))}
    env.update(supervisor.env(), PYTHONPATH=str(shim), DEBUGDASH_DEBUGPY_PATH=str(shim / "debugpy-only"))
    proc = subprocess.Popen(
        [str(flask_only_python), "-m", "debugdash.agent", "flask", "--app", "app", "run", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    factory.procs.append(proc)
    factory.supervisors.append(supervisor)
    try:
        supervisor.wait(Ready, timeout=30)
        supervisor.send(SetAttach(port=attach_port))
        notice = supervisor.wait(Notice, timeout=30)
        assert notice.level == "info" and notice.message.startswith("debugpy listening through the attach relay"), notice.message
        connection = hub.accept()[0]
        mark = supervisor.mark()
        supervisor.send(SetAttach(port=None))
        supervisor.wait(Notice, since=mark, message="debugpy stopped")
        connection.close()
    finally:
        hub.close()
        factory.cleanup()
