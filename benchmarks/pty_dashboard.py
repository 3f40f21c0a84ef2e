"""The dashboard in a real pseudo-terminal: ``debugdash --app bench_app`` as a user runs it.

A reader thread drains the terminal (as a terminal emulator would, but
without drawing) and notes when the first frame arrived: the first output
containing the errors pane's placeholder text.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import signal
import struct
import subprocess
import termios
import threading
import time
from pathlib import Path

import psutil

from benchmarks.harness import APP, VENV_BIN, get, running

#: The errors pane's placeholder: when it is on the terminal, the first whole frame is.
FIRST_FRAME_MARK = b"No errors yet"


class Dashboard:
    def __init__(
        self,
        port: int,
        *,
        cwd: Path,
        env: dict[str, str],
        size: tuple[int, int] = (100, 32),
    ) -> None:
        self.port = port
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        env = {**env, "TERM": "xterm-256color", "COLORTERM": "truecolor", "COLUMNS": str(size[0]), "LINES": str(size[1])}
        self.launched = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "debugdash"), "--app", APP, "--port", str(port)],
            cwd=cwd,
            env=env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
        )
        os.close(slave)
        self.master = master
        self.first_frame: float | None = None
        self.bytes_out = 0
        self._tail = b""
        self._seen: dict[int, psutil.Process] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.bytes_out += len(data)
            if self.first_frame is None:
                window = self._tail + data
                if FIRST_FRAME_MARK in window:
                    self.first_frame = time.perf_counter() - self.launched
                self._tail = window[-64:]

    def wait_first_frame(self, timeout: float = 30.0) -> float:
        deadline = time.perf_counter() + timeout
        while self.first_frame is None:
            if time.perf_counter() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the dashboard drew no frame")
            time.sleep(0.005)
        return self.first_frame

    def wait_ready(self, path: str = "/json", timeout: float = 30.0) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the dashboard exited with {self.proc.returncode}")
            if get(self.port, path, timeout=2.0)[0] == 200:
                return time.perf_counter() - self.launched
            time.sleep(0.005)
        raise RuntimeError("the dashboard's server was not ready")

    def processes(self) -> tuple[psutil.Process, list[psutil.Process]]:
        """The dashboard process and the server tree below it."""
        root = self._remember(psutil.Process(self.proc.pid))
        children = [self._remember(p) for p in root.children(recursive=True)]
        return root, children

    def _remember(self, proc: psutil.Process) -> psutil.Process:
        return self._seen.setdefault(proc.pid, proc)

    def stop(self) -> None:
        with contextlib.suppress(psutil.Error):
            self.processes()
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                os.write(self.master, b"q")
            try:
                self.proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=8)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        _, alive = psutil.wait_procs([p for p in self._seen.values() if running(p)], timeout=3)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        with contextlib.suppress(OSError):
            os.close(self.master)

    def __enter__(self) -> Dashboard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def cpu_of(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total
