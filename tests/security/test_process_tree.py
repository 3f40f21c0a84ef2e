"""Nothing the app starts outlives debugdash, however debugdash stops.

A real `debugdash --headless` runs an app that starts a plain child, a child in
a session of its own, a child that keeps every inheritable descriptor, and a
double-forked daemon. For every way of stopping (the signals a terminal, a
service manager or an SSH drop send, SIGKILL, a restart) every one of those
pids is gone and the port can be bound again within the 2 s the issue promises,
also while the app holds the GIL in C code.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest

from tests.support import Session, alive, free_port, http, port_is_free, wait_for, write_app

FAMILY_APP = """
    import ctypes
    import json
    import os
    import subprocess
    import time

    from flask import Flask

    app = Flask(__name__)

    def daemon():
        # The classic double fork: setsid, fork again, the middle process exits.
        read, write = os.pipe()
        middle = os.fork()
        if middle == 0:
            os.setsid()
            if os.fork() == 0:
                os.write(write, str(os.getpid()).encode())
                while True:
                    time.sleep(1)
            os._exit(0)
        os.waitpid(middle, 0)
        os.close(write)
        pid = int(os.read(read, 32))
        os.close(read)
        return pid

    @app.route("/family")
    def family():
        return json.dumps({
            "child": subprocess.Popen(["sleep", "1000"]).pid,
            "session": subprocess.Popen(["sleep", "1001"], start_new_session=True).pid,
            "inherits": subprocess.Popen(["sleep", "1002"], close_fds=False).pid,
            "daemon": daemon(),
        })

    @app.route("/crash")
    def crash():
        daemon()
        os._exit(7)

    @app.route("/hold-the-gil")
    def hold_the_gil():
        # PyDLL keeps the GIL during the call: no Python code of this process runs meanwhile.
        ctypes.PyDLL(None).sleep(100)
        return "woke"
"""

SCRIPT = """
    from app import app

    if __name__ == "__main__":
        app.run(debug=True)
"""


class Family:
    """A debugdash session whose app has started its children."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        write_app(tmp_path, FAMILY_APP)
        self.port = free_port()
        if "--script" in args:
            write_app(tmp_path, SCRIPT, "run.py")
        self.session = Session(*args, "--port", str(self.port), cwd=tmp_path, json_output=True)
        self.session.wait_event("ready", timeout=30)
        status, body, _ = http(self.port, "/family")
        assert status == 200, body
        self.children = json.loads(body)
        self.procs = [psutil.Process(pid) for pid in self.children.values()]
        self.procs += self.session.tree()

    def hold_the_gil(self) -> None:
        """Send a request that parks the server in C code holding the GIL; returns once it does."""
        server = psutil.Process(self.session.named("ready")[-1]["pid"])
        threading.Thread(target=self._request_quietly, args=("/hold-the-gil",), daemon=True).start()
        wait_for(lambda: _sleeping_in_c(server), what="the server parked in C")

    def _request_quietly(self, path: str) -> None:
        try:
            http(self.port, path, timeout=120)
        except OSError:
            pass

    def assert_all_gone(self) -> None:
        wait_for(lambda: not alive(self.procs), timeout=2, what=f"every process gone; alive: {_describe(alive(self.procs))}")
        wait_for(lambda: port_is_free(self.port), timeout=2, what=f"port {self.port} free")

    def close(self) -> None:
        self.session.close()
        for proc in alive(self.procs):
            proc.kill()


def _sleeping_in_c(server: psutil.Process) -> bool:
    """True when the server's request thread is inside nanosleep (what ctypes' sleep() calls)."""
    for thread in server.threads():
        try:
            with open(f"/proc/{server.pid}/task/{thread.id}/wchan") as f:
                if "nanosleep" in f.read():
                    return True
        except OSError:
            continue
    return False


def _describe(procs: list[psutil.Process]) -> str:
    out = []
    for proc in procs:
        try:
            out.append(f"{proc.pid} {' '.join(proc.cmdline())} (parent {proc.ppid()})")
        except psutil.Error:
            out.append(str(proc.pid))
    return "; ".join(out)


@pytest.fixture
def family(tmp_path: Path):
    made: list[Family] = []

    def start(*args: str) -> Family:
        made.append(Family(tmp_path, *args))
        return made[-1]

    yield start
    for f in made:
        f.close()


MODES = {
    "reloader": ("--app", "app"),
    "no-reloader": ("--app", "app", "--no-reload"),
}
SIGNALS = {"SIGTERM": signal.SIGTERM, "SIGINT": signal.SIGINT, "SIGHUP": signal.SIGHUP, "SIGKILL": signal.SIGKILL}


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("how", list(SIGNALS))
def test_every_way_of_stopping_ends_every_process_the_app_started(family, mode: str, how: str) -> None:
    f = family(*MODES[mode])
    f.session.signal(SIGNALS[how])
    f.session.wait_exit(timeout=15)
    f.assert_all_gone()


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_an_app_holding_the_gil_in_c_code_does_not_delay_the_end(family, how: str) -> None:
    f = family(*MODES["reloader"])
    f.hold_the_gil()
    f.session.signal(SIGNALS[how])
    f.session.wait_exit(timeout=15)
    f.assert_all_gone()


def test_a_script_under_werkzeugs_own_reloader_ends_completely_on_sigkill(family) -> None:
    # Without --port the script's own reloader parent holds the socket: a tree one level deeper.
    f = family("--script", "run.py")
    f.session.signal(signal.SIGKILL)
    f.session.wait_exit(timeout=15)
    f.assert_all_gone()


@pytest.mark.parametrize("mode", list(MODES))
def test_a_restart_ends_the_old_servers_children_while_debugdash_runs_on(family, mode: str) -> None:
    f = family(*MODES[mode])
    old = [psutil.Process(pid) for pid in f.children.values()]
    first = f.session.named("ready")[-1]
    mark = f.session.mark()
    result = f.session.cli("restart", "--port", str(f.port))
    assert result.returncode == 0, result.stderr
    assert f.session.wait_event("ready", since=mark)["pid"] != first["pid"]
    wait_for(lambda: not alive(old), timeout=2, what=f"the old server's children gone; alive: {_describe(alive(old))}")
    assert http(f.port, "/")[0] == 404  # debugdash and its new server serve on


@pytest.mark.parametrize("mode", list(MODES))
def test_a_restart_ends_the_children_of_a_server_stuck_in_c_code(family, mode: str) -> None:
    # A server holding the GIL cannot run its own clean-up: ending its tree is debugdash's job.
    f = family(*MODES[mode])
    old = [psutil.Process(pid) for pid in f.children.values()]
    first = f.session.named("ready")[-1]
    f.hold_the_gil()
    mark = f.session.mark()
    result = f.session.cli("restart", "--port", str(f.port))
    assert result.returncode == 0, result.stderr
    assert f.session.wait_event("ready", since=mark, timeout=30)["pid"] != first["pid"]
    wait_for(lambda: not alive(old), timeout=2, what=f"the stuck server's children gone; alive: {_describe(alive(old))}")
    assert f.session.proc.poll() is None


@pytest.mark.parametrize("mode", list(MODES))
def test_a_crash_leaves_nothing_behind_while_debugdash_waits_for_a_fix(family, mode: str) -> None:
    f = family(*MODES[mode])
    mark = f.session.mark()
    with pytest.raises(OSError):
        http(f.port, "/crash")
    assert f.session.wait_event("exited", since=mark)["returncode"] == 7
    # Among them a daemon started just before the crash, which nothing of the server's tree knows any more.
    f.procs += [p for p in psutil.Process(f.session.proc.pid).children(recursive=True)]
    wait_for(lambda: not alive([p for p in f.procs if p.pid != f.session.proc.pid]), timeout=2,
             what=f"what the crashed server started gone; alive: {_describe(alive(f.procs))}")
    assert f.session.proc.poll() is None, "debugdash waits for a fix"


@pytest.mark.parametrize("mode", list(MODES))
def test_the_apps_children_do_not_hold_the_listening_socket(family, mode: str) -> None:
    f = family(*MODES[mode])
    child = psutil.Process(f.children["inherits"])
    listening = [c for c in child.net_connections("inet") if c.status == psutil.CONN_LISTEN]
    assert listening == [], "a child that keeps inheritable descriptors must not get the server's port"
    server = psutil.Process(f.session.named("ready")[-1]["pid"])
    assert [c.laddr.port for c in server.net_connections("inet") if c.status == psutil.CONN_LISTEN] == [f.port]


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed: `q` needs a real terminal")
def test_q_in_the_dashboard_ends_every_process_the_app_started(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    write_app(tmp_path, FAMILY_APP)
    port = free_port()
    # A private tmux server; a short socket path (they must fit in about 100 bytes).
    tmux = ["tmux", "-S", str(tmp_path_factory.mktemp("tmux") / "s")]
    command = ["env", "-u", "COLUMNS", "-u", "LINES", "TERM=xterm-256color", sys.executable, "-m", "debugdash", "--app", "app", "--port", str(port)]
    subprocess.run([*tmux, "-f", "/dev/null", "new-session", "-d", "-s", "dash", "-x", "100", "-y", "30", "-c", str(tmp_path), " ".join(command)], check=True, timeout=30)
    procs: list[psutil.Process] = []
    try:
        wait_for(lambda: _serving(port), timeout=30, what="the dashboard's server")
        procs = [psutil.Process(pid) for pid in json.loads(http(port, "/family")[1]).values()]
        pane = psutil.Process(int(subprocess.run([*tmux, "display", "-p", "-t", "dash", "#{pane_pid}"], capture_output=True, text=True, timeout=30).stdout))
        procs += [pane, *pane.children(recursive=True)]
        subprocess.run([*tmux, "send-keys", "-t", "dash", "q"], check=True, timeout=30)
        wait_for(lambda: not alive(procs), timeout=5, what=f"every process gone after q; alive: {_describe(alive(procs))}")
        wait_for(lambda: port_is_free(port), timeout=2, what=f"port {port} free")
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, timeout=30)
        for proc in alive(procs):
            proc.kill()


def _serving(port: int) -> bool:
    try:
        return http(port, "/", timeout=5)[0] == 404
    except OSError:
        return False
