"""Starting, measuring and stopping the servers under comparison.

``plain`` is ``flask --app bench_app [--debug] run ...`` and ``debugdash`` is
``debugdash --app bench_app --headless ...``: the venv's own console scripts,
so both run on the same interpreter with the same packages. Every server runs
in a process group of its own, with its output going to a file; stopping it
ends every process of its tree that was ever seen, by pid.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
APPS = BENCH_DIR / "apps"
VENV_BIN = Path(sys.executable).parent
APP = "bench_app"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Workspace:
    """Temp dirs for one benchmark run: runtime/state dirs for debugdash, app copies, output files."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="debugdash-bench-"))
        self.runtime = self.root / "runtime"
        self.state = self.root / "state"
        self.runtime.mkdir(mode=0o700)
        self.state.mkdir()
        self._count = 0

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        for name in [n for n in env if n.startswith(("FLASK_", "WERKZEUG_", "DEBUGDASH_"))]:
            del env[name]
        env["DEBUGDASH_RUNTIME_DIR"] = str(self.runtime)
        env["XDG_STATE_HOME"] = str(self.state)
        env.pop("PYTHONPATH", None)
        return env

    def app_dir(self, name: str) -> Path:
        """A fresh copy of the benchmark apps (the reload scenario edits it)."""
        directory = self.root / name
        shutil.copytree(APPS, directory, ignore=shutil.ignore_patterns("__pycache__"))
        return directory

    def out_file(self, name: str) -> Path:
        self._count += 1
        return self.root / f"{self._count:03d}-{name}.out"

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def plain_command(port: int, *, debug: bool = True, extra: tuple[str, ...] = ()) -> list[str]:
    return [str(VENV_BIN / "flask"), "--app", APP, "--debug" if debug else "--no-debug", "run", "--port", str(port), *extra]


def debugdash_command(port: int, *, extra: tuple[str, ...] = (), json_output: bool = False) -> list[str]:
    flags = ["--headless", "--json"] if json_output else ["--headless"]
    return [str(VENV_BIN / "debugdash"), "--app", APP, "--port", str(port), *flags, *extra]


class Server:
    """One server command, launched now, output to ``out``."""

    def __init__(self, kind: str, command: list[str], *, cwd: Path, env: dict[str, str], port: int, out: Path) -> None:
        self.kind = kind
        self.command = command
        self.port = port
        self.out = out
        self._out_file = open(out, "wb")
        self.launched = time.perf_counter()
        self.proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._out_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._seen: dict[int, psutil.Process] = {}

    # --- observing ---------------------------------------------------------------

    def tree(self) -> list[psutil.Process]:
        """Every live process below (and including) the launched one; remembered for cleanup."""
        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            procs = []
        for proc in procs:
            self._seen.setdefault(proc.pid, proc)
        return [self._seen[p.pid] for p in procs]

    def cpu_seconds(self) -> float:
        """CPU (user + system) used so far by the live processes of the tree."""
        total = 0.0
        for proc in self.tree():
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def wait_ready(self, path: str = "/json", timeout: float = 30.0) -> float:
        """Poll until ``path`` answers 200; returns seconds since launch."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with {self.proc.returncode}:\n{self.tail()}")
            if get(self.port, path, timeout=2.0)[0] == 200:
                return time.perf_counter() - self.launched
            time.sleep(0.005)
        raise RuntimeError(f"{self.kind} not ready within {timeout} s:\n{self.tail()}")

    def settle(self, window: float = 0.3, quiet: float = 0.03, timeout: float = 15.0, after: float = 2.5) -> None:
        """Wait until the tree is idle (under ``quiet`` of a core over ``window`` s), at most ``timeout`` s,
        and at least ``after`` seconds since launch.

        debugdash starts a warm spare worker once the first one serves (~0.2 s of
        CPU importing Flask) and builds its template from what the worker loaded
        a second after it started (``PRELOAD_DELAY``; ~0.3 s of CPU): one-time
        costs that must not land in a per-request measurement. A tree idle for a
        moment before the template's turn is not settled yet. Applied to both
        sides alike.
        """
        time.sleep(max(0.0, self.launched + after - time.perf_counter()))
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            cpu0 = self.cpu_seconds()
            time.sleep(window)
            if self.cpu_seconds() - cpu0 < quiet * window:
                return

    def tail(self, size: int = 3000) -> str:
        with contextlib.suppress(OSError):
            with open(self.out, "rb") as f:
                f.seek(max(0, self.out.stat().st_size - size))
                return f.read().decode("utf-8", "replace")
        return ""

    # --- stopping ----------------------------------------------------------------

    def stop(self) -> None:
        self.tree()
        if self.proc.poll() is None:
            if self.kind.startswith("plain"):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGTERM)
            else:
                self.proc.send_signal(signal.SIGTERM)  # debugdash stops its own tree
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        gone, alive = psutil.wait_procs([p for p in self._seen.values() if running(p)], timeout=3)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        self._out_file.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def running(proc: psutil.Process) -> bool:
    """Alive and not a zombie."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """One GET on a new connection; (0, b"") when nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        return 0, b""
    finally:
        conn.close()


def wait_port_free(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
                return
            except OSError:
                time.sleep(0.05)


def file_tail_contains(path: Path, needle: bytes, size: int = 4096) -> bool:
    """True when the last ``size`` bytes of ``path`` contain ``needle`` (cheap on a huge file)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            end = f.tell()
            f.seek(max(0, end - size))
            return needle in f.read()
    except OSError:
        return False
