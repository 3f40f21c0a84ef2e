"""The server's interpreter started before debugdash imports itself (issue 15).

debugdash's first lines start the server's interpreter, which imports Flask
while debugdash imports its own parts, then hand it the real command. What the
app sees must be what a fresh start gives it; an early start that does not fit
the settings is ended and never serves; nothing of it outlives debugdash.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import psutil
import pytest

from tests.e2e.test_template_reload import _environment
from tests.support import Session, debugdash_command, free_port, http, port_is_free, run_cli, wait_for, write_app

STATE_APP = """
    import json, os, sys, warnings
    from flask import Flask

    app = Flask(__name__)

    @app.route("/state")
    def state():
        return json.dumps({
            "pid": os.getpid(),
            "cwd": os.getcwd(),
            "argv": sys.argv,
            "path": sys.path,
            "env": dict(os.environ),
            "main": getattr(sys.modules["__main__"], "__spec__", None) and sys.modules["__main__"].__spec__.name,
            "warnings": sys.warnoptions,
            "stdin": os.readlink("/proc/self/fd/0"),
            "ours": sorted(n for n in sys.modules if n.startswith("debugdash")),
            # What the early start imports while it waits because every server imports it before serving.
            "preloaded": sorted(n for n in ("dotenv", "encodings.idna", "multiprocessing.sharedctypes",
                                            "multiprocessing.synchronize") if n in sys.modules),
        })
"""

#: What differs between two sessions anyway (their directories, tokens, descriptor numbers).
_PER_SESSION = re.compile(r"/[^:\s]*?\d+-[a-z0-9_]{8}(?=/|$)")
_PER_SESSION_VARS = {"DEBUGDASH_TOKEN", "DEBUGDASH_PARENT_PID", "MARK", "DEBUGDASH_PRESTART"}


def _early_processes(mark: str, debugdash: int | None = None) -> list[psutil.Process]:
    """Live early interpreters started for a session whose environment carries ``mark``
    (debugdash's own process, ``debugdash``, aside: forked, they share its command line)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.pid != debugdash and proc.environ().get("MARK") == mark and "debugdash.agent" not in proc.cmdline():
                found.append(proc)
        except psutil.Error:
            pass
    return [p for p in found if _running(p)]


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _served(start, *extra: str, env: dict[str, str] | None = None, port: int | None = None) -> tuple[Session, dict]:
    port = port or free_port()
    session = start("--app", "app", "--port", str(port), *extra, env={"MARK": uuid.uuid4().hex, **(env or {})})
    session.wait_event("ready", timeout=60)
    status, body, _ = http(port, "/state")
    assert status == 200, body
    return session, json.loads(body)


def _comparable(state: dict) -> dict:
    return {
        "cwd": state["cwd"],
        "argv": state["argv"],
        "path": [_PER_SESSION.sub("<session>", p) for p in state["path"]],
        "env": {k: _PER_SESSION.sub("<session>", v) for k, v in state["env"].items() if k not in _PER_SESSION_VARS},
        "main": state["main"],
        "warnings": state["warnings"],
        "stdin": state["stdin"],
        # The early start's own module aside, what of debugdash is loaded in the server.
        "ours": [n for n in state["ours"] if n != "debugdash.agent.prestart"],
        "preloaded": state["preloaded"],
    }


def _cmdline(pid: int) -> list[str]:
    return psutil.Process(pid).cmdline()


@pytest.mark.parametrize("python", ["ours", "another"])
def test_the_early_started_server_sees_what_a_fresh_start_sees(tmp_path: Path, session_factory, python: str) -> None:
    # Our own interpreter is forked from debugdash's first lines; another one is started anew.
    write_app(tmp_path, STATE_APP)
    chosen = () if python == "ours" else ("--python", str(_environment(tmp_path / "env")))
    for extra in ((*chosen,), (*chosen, "--no-reload")):
        port = free_port()  # the same for both: it is in their arguments
        fresh_session, fresh = _served(session_factory, *extra, env={"DEBUGDASH_PRESTART": "0"}, port=port)
        assert _cmdline(fresh["pid"])[1:3] == ["-m", "debugdash.agent"]
        fresh_session.close()
        wait_for(lambda: port_is_free(port), what="the port to be free")
        early_session, early = _served(session_factory, *extra, port=port)
        # The early interpreter served: forked from debugdash's first lines, not started as `-m debugdash.agent`.
        assert "debugdash.agent" not in _cmdline(early["pid"]), "the early start was not used"
        early_session.close()
        assert _comparable(early) == _comparable(fresh)


def test_an_early_start_that_does_not_fit_is_ended_and_a_fresh_server_serves(tmp_path: Path, session_factory) -> None:
    # Read by the interpreter at start: an early start without it cannot be this server.
    (tmp_path / ".flaskenv").write_text("PYTHONWARNINGS=ignore::UserWarning\n")
    write_app(tmp_path, STATE_APP)
    session, state = _served(session_factory)
    assert state["warnings"] == ["ignore::UserWarning"]
    assert _cmdline(state["pid"])[1:3] == ["-m", "debugdash.agent"]
    mark = session.env["MARK"]
    wait_for(lambda: not _early_processes(mark, session.proc.pid), timeout=10, what="the unused early start to end")


def test_a_project_with_a_flaskenv_is_served_by_its_early_start(tmp_path: Path, session_factory) -> None:
    # Reading .flaskenv makes debugdash later than the early server, which then waits
    # for its command and closes its end as soon as it has it; the hand-over must
    # still count (it failed about every second launch: tests/core/test_prestart_hand_over.py).
    (tmp_path / ".flaskenv").write_text("FLASK_APP=app\n")
    write_app(tmp_path, STATE_APP)
    for _ in range(5):  # a race: each launch of the old hand-over lost it about every third time
        session, state = _served(session_factory)
        assert state["env"]["FLASK_APP"] == "app"
        assert "debugdash.agent" not in _cmdline(state["pid"]), "the early start was not used"
        session.close()


def test_bad_input_leaves_no_early_start_behind(tmp_path: Path) -> None:
    write_app(tmp_path, STATE_APP)
    mark = uuid.uuid4().hex
    result = run_cli("--app", "app", "--port", str(free_port()), "--ttl", "soon", "--headless", cwd=tmp_path, env={"MARK": mark})
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("Error: ")
    assert not _early_processes(mark)


@pytest.mark.parametrize("moment", ["before", "after"])
def test_an_early_start_ends_with_a_killed_debugdash(tmp_path: Path, moment: str) -> None:
    write_app(tmp_path, STATE_APP)
    mark = uuid.uuid4().hex
    if moment == "before":
        # Killed before it handed the server its command: only the early start's
        # own ties to debugdash can end it. The window is too short to hit from
        # outside, so debugdash's first lines are run and killed right after.
        code = (
            "import os, signal, sys; from debugdash import launch; from debugdash.core import prestart; "
            "early = prestart.launch(['--app', 'app'], wait=launch._wait_as_server); print(early.pid, flush=True); "
            "os.kill(os.getpid(), signal.SIGKILL)"
        )
        proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={**os.environ, "MARK": mark}, capture_output=True, text=True, timeout=60)
        assert proc.returncode == -signal.SIGKILL, proc.stderr
        early = psutil.Process(int(proc.stdout.split()[0]))
    else:
        session = Session("--app", "app", "--port", str(free_port()), cwd=tmp_path, env={"MARK": mark})
        try:
            ready = session.wait_event("ready", timeout=60)
            early = psutil.Process(ready["pid"])
            assert "debugdash.agent" not in early.cmdline()
            session.signal(signal.SIGKILL)
            session.wait_exit()
            wait_for(lambda: not _running(early), timeout=10, what="the server started early to end with debugdash")
        finally:
            session.close()
        return
    try:
        wait_for(lambda: not _running(early), timeout=10, what="the early start to end with debugdash")
    finally:
        if _running(early):
            early.kill()


def test_a_named_interpreter_is_run_once_its_early_start_answering_the_check(tmp_path: Path, session_factory) -> None:
    # The settings check --python (is it a Python, can it find Flask?); the early start
    # of that interpreter answers the check itself, so no third interpreter competes
    # with the start for the two cores: the named interpreter runs once, and serves.
    real = _environment(tmp_path / "env")
    runs = tmp_path / "runs.log"
    python = tmp_path / "logged-python"
    python.write_text(f'#!/bin/sh\necho run >> {runs}\nexec {real} "$@"\n')
    python.chmod(0o755)
    write_app(tmp_path, STATE_APP)
    session, state = _served(session_factory, "--python", str(python), "--no-reload")
    assert "debugdash.agent" not in _cmdline(state["pid"]), "the early start was not used"
    started = runs.read_text().splitlines()
    assert len(started) == 1, started
    assert _cmdline(state["pid"])[1] == "-c", "the one run is not the server"
    session.close()
