"""End to end in a real terminal: `debugdash demo` inside tmux (and on a bare
pseudo-terminal), read back with `tmux capture-pane`, driven with real keys and
real HTTP, and checked by pid that nothing of the server tree is left."""

from __future__ import annotations

import contextlib
import os
import pty
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.support import alive, free_port, wait_for
from tests.tui.conftest import DIVIDE, demo_line

REPO = Path(__file__).resolve().parents[2]
#: How long the dashboard and the server tree may take to go; generous, the machine is shared.
GONE_WITHIN = 15.0


class Tmux:
    """A private tmux server (its own socket file) holding one session, ``dash``."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = ["tmux", "-S", str(self.socket), *args]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=60)

    def start(
        self,
        command: list[str],
        *,
        term: str = "xterm-256color",
        size: tuple[int, int] = (100, 30),
        env: dict[str, str] | None = None,
    ) -> None:
        # COLUMNS/LINES from the test runner's environment would override the pane's size.
        extra = [f"{name}={value}" for name, value in (env or {}).items()]
        shell = shlex.join(["env", "-u", "COLUMNS", "-u", "LINES", f"TERM={term}", *extra, *command])
        self.run("-f", "/dev/null", "new-session", "-d", "-s", "dash", "-x", str(size[0]), "-y", str(size[1]), "-c", str(REPO), shell)

    def screen(self) -> str:
        result = self.run("capture-pane", "-p", "-t", "dash", check=False)
        return result.stdout

    def press(self, *keys: str) -> None:
        self.run("send-keys", "-t", "dash", *keys)

    def pane_pid(self) -> int:
        return int(self.run("display", "-p", "-t", "dash", "#{pane_pid}").stdout.strip())

    def close(self) -> None:
        self.run("kill-server", check=False)


@pytest.fixture
def tmux(tmp_path_factory: pytest.TempPathFactory):
    # Only the tests that use tmux skip without it; the bare-pty ones below still run.
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (apt-get install tmux): this test reads the screen through tmux")
    # A short directory: a socket path must fit in about 100 bytes.
    session = Tmux(tmp_path_factory.mktemp("tmux") / "s")
    yield session
    session.close()


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _dashboard(port: int) -> list[str]:
    return [sys.executable, "-m", "debugdash", "demo", "--port", str(port)]


def _wait_running(tmux: Tmux) -> str:
    return wait_for(lambda: "running" in tmux.screen() and "PIN" in tmux.screen(), timeout=30, what="the dashboard to show a running server")


def _get(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=15) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def _gone_within(procs: list[psutil.Process], seconds: float) -> list[psutil.Process]:
    deadline = time.monotonic() + seconds
    while alive(procs) and time.monotonic() < deadline:
        time.sleep(0.02)
    return alive(procs)


@pytest.mark.parametrize("term", ["xterm-256color", "screen-256color", "screen"])
def test_a_failing_request_appears_on_screen(tmux, term):
    port = free_port()
    tmux.start(_dashboard(port), term=term)
    tree: list[psutil.Process] = []
    try:
        _wait_running(tmux)
        tree = _tree(tmux.pane_pid())
        assert _get(port, "/divide") == 500
        screen = wait_for(
            lambda: "division by zero" in tmux.screen() and tmux.screen(), timeout=30, what="the traceback on screen"
        )
        assert "ZeroDivisionError" in screen and "app.py:" in screen, screen
        tmux.press("q")
        assert not _gone_within(tree, GONE_WITHIN)
    finally:
        for proc in alive(tree):
            proc.kill()


@contextlib.contextmanager
def _pressed_e_on_a_traceback(tmux, editor: str) -> Iterator[None]:
    """The demo's dashboard with ``EDITOR=editor`` and ``e`` pressed on a failing
    request's frame; after the block, ``q`` must end the whole tree."""
    port = free_port()
    tmux.start(_dashboard(port), env={"EDITOR": editor})
    tree: list[psutil.Process] = []
    try:
        _wait_running(tmux)
        tree = _tree(tmux.pane_pid())
        assert _get(port, "/divide") == 500
        wait_for(lambda: "division by zero" in tmux.screen(), timeout=30, what="the traceback")
        tmux.press("e")
        yield
        tmux.press("q")
        assert not _gone_within(tree, GONE_WITHIN)
    finally:
        for proc in alive(tree):
            proc.kill()


def test_e_suspends_for_the_editor_and_resumes(tmux, tmp_path):
    record = tmp_path / "editor-args"
    editor = tmp_path / "editor"
    # Reads a line from the terminal like a real editor would, then exits.
    editor.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\necho EDITOR-RUNNING\nread answer\n')
    editor.chmod(0o755)
    with _pressed_e_on_a_traceback(tmux, str(editor)):
        wait_for(lambda: "EDITOR-RUNNING" in tmux.screen(), timeout=30, what="the editor to own the terminal")
        assert record.read_text().split("\n")[0] == f"+{demo_line(DIVIDE)}"
        assert record.read_text().split("\n")[1].endswith("demo/app.py")
        tmux.press("Enter")
        wait_for(lambda: "PIN" in tmux.screen() and "division by zero" in tmux.screen(), timeout=30, what="the dashboard back")


def test_e_with_an_editor_that_is_not_installed_says_so_and_the_dashboard_stays(tmux):
    # A common setup over SSH: EDITOR names a program of another machine (code -w).
    with _pressed_e_on_a_traceback(tmux, "no-such-editor -w"):
        wait_for(
            lambda: "Could not run no-such-editor" in tmux.screen() and "PIN" in tmux.screen(),
            timeout=30, what=lambda: f"the dashboard, saying so; screen:\n{tmux.screen()}",
        )


def test_c_puts_the_traceback_on_the_terminal_clipboard(tmux):
    """`c` writes OSC 52: tmux with set-clipboard on turns it into a paste buffer."""
    port = free_port()
    tmux.start(_dashboard(port))
    tmux.run("set-option", "-s", "set-clipboard", "on")
    tree: list[psutil.Process] = []
    try:
        _wait_running(tmux)
        tree = _tree(tmux.pane_pid())
        assert _get(port, "/divide") == 500
        wait_for(lambda: "division by zero" in tmux.screen(), timeout=30, what="the traceback")
        assert tmux.run("show-buffer", check=False).returncode != 0  # no buffer before the key
        tmux.press("c")
        copied = wait_for(lambda: tmux.run("show-buffer", check=False).stdout, timeout=30, what="a tmux paste buffer")
        assert "Traceback (most recent call last):" in copied
        assert f'app.py", line {demo_line(DIVIDE)}, in divide' in copied
        assert copied.rstrip().endswith("ZeroDivisionError: division by zero")
        tmux.press("q")
        assert not _gone_within(tree, GONE_WITHIN)
    finally:
        for proc in alive(tree):
            proc.kill()


@pytest.mark.parametrize("key", ["q", "C-c"])
def test_q_or_ctrl_c_quits_and_no_process_of_the_tree_remains(tmux, key):
    port = free_port()
    tmux.start(_dashboard(port))
    tree: list[psutil.Process] = []
    try:
        _wait_running(tmux)
        tree = _tree(tmux.pane_pid())
        assert len(tree) >= 2  # debugdash and its worker (and a warm spare, soon)
        tmux.press(key)
        assert not _gone_within(tree, GONE_WITHIN)
        assert not _listening(port)
    finally:
        for proc in alive(tree):
            proc.kill()


@pytest.mark.parametrize("how", ["kill-session", "SIGTERM"])
def test_killing_the_session_stops_everything(tmux, how):
    port = free_port()
    tmux.start(_dashboard(port))
    tree: list[psutil.Process] = []
    try:
        _wait_running(tmux)
        tree = _tree(tmux.pane_pid())
        if how == "kill-session":
            tmux.run("kill-session", "-t", "dash")
        else:
            os.kill(tree[0].pid, signal.SIGTERM)
        assert not _gone_within(tree, GONE_WITHIN)
        assert not _listening(port)
    finally:
        for proc in alive(tree):
            proc.kill()


def test_the_terminal_closing_under_it_ends_it_without_spinning(tmp_path):
    """The pty master closes (an SSH connection dropping): stdin reads EOF/EIO.

    No controlling terminal here, so no SIGHUP either: only the driver's own
    end-of-file handling can notice. Upstream Textual would spin at 100 % CPU.
    """
    port = free_port()
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    proc = subprocess.Popen(
        _dashboard(port),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=REPO,
        env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"},
        start_new_session=True,
    )
    os.close(slave)
    tree: list[psutil.Process] = []
    try:
        output = bytearray()

        def ready() -> bool:
            try:
                output.extend(os.read(master, 65536))
            except BlockingIOError:
                pass
            return b"PIN" in output

        wait_for(ready, timeout=30, what="the dashboard to draw a running server")
        tree = _tree(proc.pid)
        os.close(master)
        master = -1
        assert not _gone_within(tree, GONE_WITHIN)
        assert proc.wait(timeout=GONE_WITHIN) is not None
    finally:
        if master >= 0:
            os.close(master)
        for p in alive(tree):
            p.kill()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _drain_pty(master: int) -> None:
    try:
        while os.read(master, 65536):
            pass
    except OSError:
        pass


def test_stdin_at_end_of_file_from_the_start_says_the_dashboard_needs_a_terminal():
    """`debugdash demo < /dev/null` on a terminal: no keys can ever come, so it says
    in one line to use --headless (exit 2) and starts nothing, instead of spinning on EOF."""
    port = free_port()
    master, slave = pty.openpty()
    with open(os.devnull, "rb") as devnull:
        proc = subprocess.Popen(
            _dashboard(port),
            stdin=devnull,
            stdout=slave,
            stderr=slave,
            cwd=REPO,
            env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"},
            start_new_session=True,
        )
    os.close(slave)
    # Drain the terminal, as a real one would: an unread pty blocks the writer.
    threading.Thread(target=_drain_pty, args=(master,), daemon=True).start()
    try:
        assert proc.wait(timeout=60) == 2
        assert not _listening(port)
        leftovers = [p for p in psutil.process_iter(["cmdline"]) if str(port) in " ".join(p.info["cmdline"] or [])]
        assert not alive(leftovers)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_lone_escape_closes_a_dialog(tmux):
    # The input thread sleeps until a key comes; a lone Escape is only known
    # to be one when nothing follows it for a moment, so the thread must wake
    # for that deadline by itself.
    port = free_port()
    tmux.start(_dashboard(port))
    tree: list[psutil.Process] = []
    try:
        _wait_running(tmux)
        tree = _tree(tmux.pane_pid())
        tmux.press("g")
        wait_for(lambda: "Grant remote access" in tmux.screen(), timeout=30, what="the grant dialog")
        tmux.press("Escape")
        wait_for(lambda: "Grant remote access" not in tmux.screen(), timeout=30, what="Escape to close the dialog")
        tmux.press("q")
        assert not _gone_within(tree, GONE_WITHIN)
    finally:
        for proc in alive(tree):
            proc.kill()
