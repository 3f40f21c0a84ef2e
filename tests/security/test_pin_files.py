"""The debugger PIN is not written to files by default: not by `--headless
--json > run.log`, not by the readable headless mode redirected to a file, not
by the audit log. `debugdash status` (the same user's control socket) and an
explicit `--json-pin` still give it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support import SIMPLE_APP, debugdash_command, free_port, http, run_cli, wait_for, write_app

PIN_SHAPE = re.compile(r"\d{3}-\d{3}-\d{3}")


class _Redirected:
    """`debugdash ... > run.log`: the session's stdout is a file, as a user would redirect it."""

    def __init__(self, directory: Path, *args: str) -> None:
        self.directory = directory
        self.log = directory / "run.log"
        self.port = free_port()
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(
                debugdash_command("--app", "app", "--port", str(self.port), "--no-reload", "--headless", *args),
                cwd=directory,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text()

    def status(self) -> dict:
        result = run_cli("status", "--json", cwd=self.directory)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def stop(self) -> str:
        """Stop as Ctrl-C would; the whole file as written."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return self.output()


@pytest.fixture
def redirected(tmp_path: Path):
    write_app(tmp_path, SIMPLE_APP)
    sessions: list[_Redirected] = []

    def start(*args: str) -> _Redirected:
        session = _Redirected(tmp_path, *args)
        sessions.append(session)
        return session

    yield start
    for session in sessions:
        session.stop()


def _exercise(session: _Redirected, *, ready_marker: str) -> str:
    """Run the session through what reaches its output and audit log; return the PIN."""
    wait_for(lambda: ready_marker in session.output(), timeout=30, what="ready in the file")
    pin = session.status()["pin"]
    assert PIN_SHAPE.fullmatch(pin)
    assert run_cli("allow", "127.0.0.2", "--for", "5m", cwd=session.directory).returncode == 0
    # A refused peer trying the PIN (as if it had guessed it), and the developer's own PIN check.
    http(session.port, f"/?__debugger__=yes&cmd=pinauth&pin={pin}&s=x", source="127.0.0.3")
    wait_for(lambda: "refused" in session.output() or "access_refused" in session.output(), what="the refusal")
    assert http(session.port, "/boom")[0] == 500
    http(session.port, f"/?__debugger__=yes&cmd=pinauth&pin={pin}&s=x")
    assert run_cli("revoke", "127.0.0.2", cwd=session.directory).returncode == 0
    wait_for(lambda: "access_revoked" in session.output() or "revoked" in session.output(), what="the revoke")
    return pin


def test_json_output_redirected_to_a_file_has_no_pin(redirected) -> None:
    session = redirected("--json")
    pin = _exercise(session, ready_marker='"event":"ready"')
    output = session.stop()
    ready = [json.loads(line) for line in output.splitlines() if '"event":"ready"' in line]
    assert ready and all("pin" not in event for event in ready)
    assert pin not in output and pin.replace("-", "") not in output


def test_json_pin_asks_for_it(redirected) -> None:
    session = redirected("--json", "--json-pin")
    wait_for(lambda: '"event":"ready"' in session.output(), timeout=30, what="ready in the file")
    pin = session.status()["pin"]
    [ready] = [json.loads(line) for line in session.output().splitlines() if '"event":"ready"' in line]
    assert ready["pin"] == pin


def test_readable_output_redirected_to_a_file_has_no_pin_but_says_where_it_is(redirected) -> None:
    session = redirected()
    pin = _exercise(session, ready_marker="ready ")
    output = session.stop()
    assert "PIN in `debugdash status`" in output
    assert pin not in output and pin.replace("-", "") not in output


def test_the_audit_log_has_no_pin(redirected, tmp_path: Path) -> None:
    session = redirected("--json")
    pin = _exercise(session, ready_marker='"event":"ready"')
    session.stop()
    audit = Path(os.environ["XDG_STATE_HOME"]) / "debugdash" / "audit.log"
    content = audit.read_text()
    assert "refuse" in content and "grant" in content and "revoke" in content
    assert pin not in content and pin.replace("-", "") not in content


def test_json_pin_without_json_is_refused(tmp_path: Path) -> None:
    result = run_cli("--app", "app", "--headless", "--json-pin", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "Error: --json-pin goes with --headless --json"
