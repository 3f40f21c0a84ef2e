"""Shared test helpers: a real `debugdash --headless --json` session in a
subprocess, real HTTP from chosen source addresses, polling with deadlines.
"""

from __future__ import annotations

import asyncio

import http.client as httpclient
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Holds the test-only ``sitecustomize`` that lets a test move the clock of the
#: processes it starts (see tests/timetravel/sitecustomize.py).
TIMETRAVEL_DIR = REPO_ROOT / "tests" / "timetravel"
TEST_CLOCK_ENV = "DEBUGDASH_TEST_CLOCK_FILE"


class SharedClock:
    """The monotonic clock of the debugdash processes a test starts, moved without sleeping.

    Pass ``env()`` to the processes; ``advance`` moves the supervisor's and the
    server's time together (both read the same file on every reading).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0.0
        self._write()

    def env(self) -> dict[str, str]:
        return {"PYTHONPATH": str(TIMETRAVEL_DIR), TEST_CLOCK_ENV: str(self.path)}

    def advance(self, seconds: float) -> None:
        self.offset += seconds
        self._write()

    def now(self) -> float:
        """What the clock of those processes reads now."""
        return time.monotonic() + self.offset

    def _write(self) -> None:
        # Atomically: a reader must never see an empty or half-written file.
        part = self.path.with_name(self.path.name + ".part")
        part.write_text(repr(self.offset))
        os.replace(part, self.path)


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, interval: float = 0.02, what: str | Callable[[], str] = "") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail at the deadline
    (``what`` says what was awaited; a callable can say what was seen instead)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {(what() if callable(what) else what) or predicate}")
        time.sleep(interval)


async def wait_for_async(predicate: Callable[[], Any], timeout: float = 15.0, interval: float = 0.05, what: str = "") -> Any:
    """``wait_for`` inside a test's event loop: polls without blocking the loop (a
    supervisor running on it must go on)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or predicate}")
        await asyncio.sleep(interval)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def http(
    port: int,
    path: str = "/",
    *,
    source: str = "127.0.0.1",
    method: str = "GET",
    headers: dict[str, str] | None = None,
    host: str = "127.0.0.1",
    timeout: float = 15.0,
) -> tuple[int, str, dict[str, str]]:
    """One real HTTP request from the ``source`` address; returns status, body text, headers."""
    conn = httpclient.HTTPConnection(host, port, timeout=timeout, source_address=(source, 0))
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
        return response.status, body, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def write_app(directory: Path, source: str, name: str = "app.py") -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


SIMPLE_APP = """
    from flask import Flask

    app = Flask(__name__)

    @app.route("/")
    def index():
        return "hello"

    @app.route("/boom")
    def boom():
        numbers = {"answer": 42}
        return str(numbers["answer"] / 0)
"""


def debugdash_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "debugdash", *args]


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    executable: list[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a short `debugdash` command to completion."""
    return subprocess.run(
        [*(executable or debugdash_command()), *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


class Session:
    """`debugdash ... --headless --json` in a subprocess, with its events parsed as they come.

    A line of ``--json`` output that is not a JSON object with an ``"event"``
    key is a broken promise: it is kept in ``bad_lines`` and every later wait
    (and ``close``) fails naming it. So does an exception in a reader thread.
    """

    def __init__(
        self,
        *args: str,
        cwd: Path,
        env: dict[str, str] | None = None,
        json_output: bool = True,
        executable: list[str] | None = None,
    ) -> None:
        self.args = args
        self.cwd = cwd
        self.env = {**os.environ, **(env or {})}
        # ``executable``: a debugdash installed elsewhere (its own environment, as pipx does).
        self.executable = executable or debugdash_command()
        flags = ["--headless", "--json"] if json_output else ["--headless"]
        self.proc = subprocess.Popen(
            [*self.executable, *args, *flags],
            cwd=cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.json_output = json_output
        self.events: list[dict[str, Any]] = []
        self.stdout_lines: list[str] = []
        self.bad_lines: list[str] = []
        self.stderr = bytearray()
        self._seen: list[psutil.Process] = []
        self._lock = threading.Lock()
        self._readers = [ReaderThread(self._read_stdout), ReaderThread(self._read_stderr)]

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                self.stdout_lines.append(line)
                if not self.json_output:
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    event = None
                if isinstance(event, dict) and "event" in event:
                    self.events.append(event)
                else:
                    self.bad_lines.append(line)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.stderr += raw

    def check(self) -> None:
        """Fail with what went wrong in the output readers, if anything did."""
        for reader in self._readers:
            reader.check()
        with self._lock:
            bad = list(self.bad_lines)
        if bad:
            raise AssertionError(f"--json wrote {len(bad)} line(s) that are not events, first: {bad[0]!r}")

    # --- events --------------------------------------------------------------

    def named(self, name: str, since: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.events[since:] if e.get("event") == name]

    def mark(self) -> int:
        """A position in the event list, to wait for events after it."""
        with self._lock:
            return len(self.events)

    def wait_event(
        self,
        name: str,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        *,
        since: int = 0,
        timeout: float = 20.0,
    ) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            self.check()
            for event in self.named(name, since):
                if predicate is None or predicate(event):
                    return event
            if self.proc.poll() is not None and not self.named(name, since):
                raise AssertionError(
                    f"debugdash exited ({self.proc.returncode}) before {name!r}; stderr: {self.stderr.decode(errors='replace')[-2000:]}"
                )
            return None

        return wait_for(found, timeout=timeout, what=f"event {name!r}")

    def log_lines(self) -> list[str]:
        return [e["line"] for e in self.named("log")]

    # --- control ---------------------------------------------------------------

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, cwd=self.cwd, env=self.env, timeout=timeout, executable=self.executable)

    def pin(self) -> str:
        """The running server's debugger PIN, as its user reads it: `debugdash status` (never --json output)."""
        result = self.cli("status", "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)["pin"]

    def tree(self) -> list[psutil.Process]:
        """The supervisor and every process below it, remembered for cleanup."""
        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            procs = []
        self._seen.extend(p for p in procs if p.pid not in {s.pid for s in self._seen})
        return procs

    def signal(self, sig: int) -> None:
        self.tree()
        os.kill(self.proc.pid, sig)

    def wait_exit(self, timeout: float = 10.0) -> int:
        return self.proc.wait(timeout=timeout)

    def close(self) -> None:
        """End everything this session started, by pid; then fail on broken output."""
        self.tree()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for proc in self._seen:
            try:
                if proc.is_running():
                    proc.kill()
            except psutil.Error:
                pass
        for reader in self._readers:
            reader.join(timeout=15)
        self.check()


def close_all(sessions: list[Session]) -> None:
    """Close every session, then fail with the first one's broken output, if any."""
    errors = []
    for session in sessions:
        try:
            session.close()
        except AssertionError as e:
            errors.append(e)
    if errors:
        raise errors[0]


class ReaderThread(threading.Thread):
    """A daemon thread whose exception is kept and raised again by ``check()`` in the test."""

    def __init__(self, target: Callable[[], None], name: str | None = None) -> None:
        super().__init__(target=self._run, args=(target,), name=name, daemon=True)
        self.error: BaseException | None = None
        self.start()

    def _run(self, target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as e:  # kept for the test thread, which alone can fail the test
            self.error = e

    def check(self) -> None:
        if self.error is not None:
            raise AssertionError(f"{self.name} failed: {self.error!r}") from self.error


def alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    """Those of ``procs`` still running (zombies count as gone)."""
    result = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                result.append(proc)
        except psutil.Error:
            pass
    return result


# --- the Werkzeug debugger, driven as a browser would -------------------------


def debugger_page(body: str) -> tuple[str, int] | None:
    """The traceback secret and the innermost frame id of a debugger page, if it is one."""
    import re

    secret = re.search(r'SECRET = "([^"]+)"', body)
    frames = re.findall(r'<div class="frame" id="frame-(\d+)">', body)
    if not secret or not frames:
        return None
    return secret.group(1), int(frames[-1])


def pin_cookie(port: int, secret: str, pin: str, source: str = "127.0.0.1") -> str | None:
    """Authenticate with the PIN; the cookie to send with console commands, or None if refused."""
    status, body, headers = http(port, f"/?__debugger__=yes&cmd=pinauth&pin={pin}&s={secret}", source=source)
    if status != 200 or '"auth": true' not in body:
        return None
    return headers["set-cookie"].split(";", 1)[0]


def console_eval(port: int, secret: str, frame: int, cookie: str, expression: str, source: str = "127.0.0.1") -> tuple[int, str]:
    """Run ``expression`` in the debugger's console for ``frame``; status and output."""
    from urllib.parse import quote

    status, body, _ = http(
        port,
        f"/?__debugger__=yes&cmd={quote(expression)}&frm={frame}&s={secret}",
        source=source,
        headers={"Cookie": cookie},
    )
    return status, body


def import_source(path: Path, source: str, name: str) -> Any:
    """``source`` written to ``path`` and imported from there as module ``name`` (not put in
    ``sys.modules``): frames of an app's own file, in the test's process."""
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
