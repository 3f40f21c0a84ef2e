"""The harness for agent tests: a test supervisor on a real unix socket, and real servers.

``TestSupervisor`` answers every ``hello`` with a ``configure`` the test chose,
records every event, and sends commands. ``start_server`` runs the real Flask
development server as ``python -m debugdash.agent ...`` in its own process
group, waits for its ``ready`` and kills the group at the end of the test.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from debugdash.protocol.events import Event, Ready
from debugdash.protocol.commands import Command, Configure, Hello, WireGrant, decode, encode
from tests.support import ReaderThread, SharedClock, TIMETRAVEL_DIR, free_port, wait_for  # noqa: F401 (re-exported)

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class AgentConnection:
    sock: socket.socket
    hello: Hello
    events: list[Event] = field(default_factory=list)
    closed: bool = False


class TestSupervisor:
    """A stand-in for debugdash's supervisor: a unix socket server in a thread.

    Whatever goes wrong in its threads (a bad hello, a line that does not
    decode) is kept and raised in the test by the next ``wait`` or by ``close``,
    instead of surfacing as a timeout.
    """

    __test__ = False

    def __init__(self, configure: Configure | None = None) -> None:
        self.dir = tempfile.mkdtemp(prefix="dd-agent-", dir="/tmp")
        self.path = os.path.join(self.dir, "s.sock")
        self.token = "test-token"
        self.configure = configure or Configure(debugger=True)
        self.connections: list[AgentConnection] = []
        self.events: list[Event] = []
        self.answer_hello = True
        self._lock = threading.Lock()
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(16)
        self._threads: list[ReaderThread] = []
        self._threads.append(ReaderThread(self._accept_loop, name="test supervisor: accept"))

    def _accept_loop(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed by close()
            thread = ReaderThread(lambda sock=sock: self._serve(sock), name="test supervisor: connection")
            with self._lock:
                self._threads.append(thread)

    def _serve(self, sock: socket.socket) -> None:
        reader = sock.makefile("rb")
        try:
            first = reader.readline()
        except OSError:
            first = b""
        if not first:  # connected and went away before saying hello
            sock.close()
            return
        hello = decode(first)
        assert isinstance(hello, Hello), f"the agent's first line is not a hello: {first[:200]!r}"
        assert hello.token == self.token, f"the agent sent the wrong token: {hello.token!r}"
        conn = AgentConnection(sock, hello)
        with self._lock:
            self.connections.append(conn)
        if self.answer_hello:
            sock.sendall(encode(self.configure))
        while True:
            try:
                line = reader.readline()
            except OSError:
                line = b""
            if not line:
                conn.closed = True
                return
            message = decode(line)
            if isinstance(message, Event):
                with self._lock:
                    conn.events.append(message)
                    self.events.append(message)

    # --- what tests use -------------------------------------------------------

    def env(self) -> dict[str, str]:
        return {"DEBUGDASH_SOCKET": self.path, "DEBUGDASH_TOKEN": self.token}

    def check(self) -> None:
        """Raise what failed in a thread of this supervisor, if anything did."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.check()

    def of(self, cls: type, **match: Any) -> list[Any]:
        with self._lock:
            events = list(self.events)
        return [e for e in events if isinstance(e, cls) and all(getattr(e, k) == v for k, v in match.items())]

    def wait(self, cls: type, timeout: float = 15.0, since: int = 0, **match: Any) -> Any:
        """The first event of ``cls`` (after the first ``since`` events) matching ``match``."""

        def find() -> Any:
            self.check()
            with self._lock:
                events = self.events[since:]
            for e in events:
                if isinstance(e, cls) and all(getattr(e, k) == v for k, v in match.items()):
                    return e
            return None

        return wait_for(find, timeout)

    def mark(self) -> int:
        with self._lock:
            return len(self.events)

    def connection(self, pid: int) -> AgentConnection:
        with self._lock:
            return next(c for c in self.connections if c.hello.pid == pid)

    def send(self, command: Command, pid: int | None = None) -> None:
        """Send a command to the agent of ``pid``, or to every live agent."""
        with self._lock:
            targets = [c for c in self.connections if not c.closed and (pid is None or c.hello.pid == pid)]
        for conn in targets:
            try:
                conn.sock.sendall(encode(command))
            except OSError:
                pass

    def drop(self, pid: int | None = None) -> None:
        """Close the connection(s), as a dying supervisor would."""
        with self._lock:
            targets = [c for c in self.connections if pid is None or c.hello.pid == pid]
        for conn in targets:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.sock.close()

    def close(self) -> None:
        self.drop()
        self._listener.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        self.check()


@dataclass
class Server:
    proc: subprocess.Popen
    supervisor: TestSupervisor
    ready: Ready | None
    port: int
    clock: SharedClock

    @property
    def pid(self) -> int:
        return self.ready.pid if self.ready else self.proc.pid

    def get(self, path: str, source: str = "127.0.0.1", **kw: Any) -> "Reply":
        return http_get(self.port, path, source=source, **kw)

    def advance_clock(self, seconds: float) -> None:
        """Move the agent's monotonic clock forward by ``seconds`` more."""
        self.clock.advance(seconds)

    def now(self) -> float:
        """The agent's current clock reading."""
        return self.clock.now()


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str


def http_get(
    port: int,
    path: str,
    source: str = "127.0.0.1",
    headers: dict[str, str] | None = None,
    host: str = "127.0.0.1",
) -> Reply:
    conn = http.client.HTTPConnection(host, port, timeout=15, source_address=(source, 0))
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        try:
            body = response.read().decode("utf-8", "replace")
        except http.client.IncompleteRead as e:
            body = e.partial.decode("utf-8", "replace")
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    finally:
        conn.close()


def grant(network: str, seconds: float, now: float, what: tuple[str, ...] = ("debugger",)) -> WireGrant:
    return WireGrant(network=network, what=list(what), deadline=now + seconds)


class ServerFactory:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen] = []
        self.supervisors: list[TestSupervisor] = []

    def __call__(
        self,
        app: str | None = "debugdash.demo.app",
        *,
        mode: str = "flask",
        flask_args: list[str] | None = None,
        supervisor: TestSupervisor | None = None,
        configure: Configure | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        wait_ready: bool = True,
        port: int | None = None,
    ) -> Server:
        sup = supervisor or TestSupervisor(configure)
        if supervisor is None:
            self.supervisors.append(sup)
        elif configure is not None:
            sup.configure = configure
        port = port or free_port()
        clock = SharedClock(self.tmp_path / f"clock-{port}")
        if mode == "flask":
            args = flask_args if flask_args is not None else ["run", "--port", str(port), "--no-reload"]
            app_option = ["--app", app] if app else []  # None: Flask discovers the app itself
            command = [sys.executable, "-m", "debugdash.agent", "flask", *app_option, *args]
        else:
            command = [sys.executable, "-m", "debugdash.agent", "script", app]
        full_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "WERKZEUG_", "DEBUGDASH_"))
        }
        full_env.update(sup.env())
        full_env.update(clock.env())
        full_env["PYTHONPATH"] = os.pathsep.join((str(TIMETRAVEL_DIR), str(REPO_ROOT)))
        full_env["PYTHONUNBUFFERED"] = "1"
        if mode == "script":
            full_env["DEBUGDASH_PORT"] = str(port)
            full_env["DEBUGDASH_HOST"] = "127.0.0.1"
        full_env.update(env or {})
        proc = subprocess.Popen(
            command,
            env=full_env,
            cwd=str(cwd or self.tmp_path),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.procs.append(proc)
        threading.Thread(target=_drain, args=(proc,), daemon=True).start()
        server = Server(proc, sup, None, port, clock)
        if wait_ready:
            server.ready = sup.wait(Ready, port=port, timeout=20)
        return server

    def cleanup(self) -> None:
        for proc in self.procs:
            _kill_group(proc)
        errors = []
        for sup in self.supervisors:
            try:
                sup.close()
            except AssertionError as e:
                errors.append(e)
        if errors:
            raise errors[0]


def _drain(proc: subprocess.Popen) -> None:
    # Keep the pipe from filling; keep the tail for failure messages.
    tail: list[bytes] = []
    proc.stderr_tail = tail  # type: ignore[attr-defined]
    for line in proc.stderr:  # type: ignore[union-attr]
        tail.append(line)
        del tail[:-200]


def stderr_of(proc: subprocess.Popen) -> str:
    return b"".join(getattr(proc, "stderr_tail", [])).decode("utf-8", "replace")


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


