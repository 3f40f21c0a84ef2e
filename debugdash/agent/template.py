"""Being the template: a preloaded interpreter that forks each new worker.

Started by debugdash like a warm spare, with ``TEMPLATE_FD_ENV`` naming one end
of a socket pair. It imports what the previous worker loaded from outside the
project (``debugdash.agent.preload``), tells debugdash it is ready, then waits.
For each ``fork`` request it forks; the child takes the pipes, the listening
socket and the guard pipe that came with the request, gets the worker's
environment, working directory, signal handlers and a reseeded ``random``, and
returns from ``serve`` to go on as an ordinary worker, which imports only the
project's own modules. The template reports each child's pid and exit code.

It forks only while it has no thread but its own, and only when no file it
preloaded changed since it started (then it answers ``stale`` and debugdash uses
the warm spare). It also looks, with a few ``stat`` calls, whether the worker
has loaded a new library module or a package was installed or removed, and then
says ``stale`` so debugdash builds a new template in the background: when
inotify reports a change in the installed packages' directories or in the
session's (where the worker writes its list of modules), or every
``CHECK_INTERVAL`` where inotify is not available. An idle template sleeps. Messages are JSON lines; file descriptors travel with
``SCM_RIGHTS``.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
import time

from debugdash.agent import preload
from debugdash.agent.inotify import Inotify
from debugdash.protocol.env import PARENT_PID_ENV, PRELOAD_FILE_ENV, TEMPLATE_EXCLUDE_ENV, TEMPLATE_FD_ENV

#: Seconds between the background checks for new modules and installed packages.
CHECK_INTERVAL = 1.0
#: Seconds to wait for the worker's list of modules when there is none yet.
LIST_WAIT = 5.0
_MAX_FDS = 8


class _Template:
    def __init__(self, sock: socket.socket) -> None:
        self.sock: socket.socket | None = sock
        self.started_ns = time.time_ns()
        self.preload_file = os.environ.get(PRELOAD_FILE_ENV, "")
        self.excluded = {p for p in os.environ.get(TEMPLATE_EXCLUDE_ENV, "").split(",") if p}
        self.files: list[str] = []
        self.wanted: set[str] = set()
        self.list_mtime = 0
        self.dirs_mtime: dict[str, int] = {}
        self.children: set[int] = set()
        self.retiring = False
        self.buffer = b""
        self.notify: Inotify | None = None
        self._notified = False  # every directory the checks look at is watched

    # --- building -----------------------------------------------------------

    def build(self) -> bool:
        """Preload; False (after telling debugdash which package) when one made us unsafe."""
        # The first worker lists its modules a moment after it serves: wait for that list.
        deadline = time.monotonic() + LIST_WAIT
        while self.preload_file and not os.path.exists(self.preload_file) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.list_mtime = _mtime(self.preload_file)
        names = preload.read_list(self.preload_file)
        self.wanted = set(names)
        hazards = preload.Hazards()
        for top, group in preload.groups(names, self.excluded):
            preload.import_group(group)
            reason = hazards.introduced_by(top)
            if reason is not None:
                self.send({"op": "excluded", "package": top, "reason": reason})
                return False
        self.files = sorted({f for f in _module_files() if f.startswith(preload.library_dirs())})
        self.dirs_mtime = {d: _mtime(d) for d in preload.library_dirs()}
        self.send({"op": "ready", "modules": len(sys.modules), "rss": _rss()})
        return True

    def changed(self) -> str | None:
        """Why this template no longer matches what a fresh worker would load."""
        for name in self.files:
            if _mtime(name) > self.started_ns:
                return f"{name} changed"
        return self.grown()

    def grown(self) -> str | None:
        for directory, mtime in self.dirs_mtime.items():
            if _mtime(directory) != mtime:
                return f"installed packages changed in {directory}"
        mtime = _mtime(self.preload_file)
        if mtime != self.list_mtime:
            self.list_mtime = mtime
            new = set(preload.read_list(self.preload_file)) - self.wanted
            new = {n for n in new if n.split(".")[0] not in self.excluded}
            if new:
                return f"the worker loaded {min(new)}"
        return None

    # --- serving ------------------------------------------------------------

    def send(self, message: dict) -> None:
        if self.sock is not None:
            self.sock.sendall(json.dumps(message).encode() + b"\n")

    def watch(self) -> None:
        """Have inotify wake us for what ``grown`` looks at, instead of looking every second."""
        self.notify = Inotify.create()
        if self.notify is None:
            return
        directories = set(self.dirs_mtime)
        if self.preload_file:
            directories.add(os.path.dirname(self.preload_file))
        self._notified, _ = self.notify.watch(directories)

    def serve(self, wakeup: int) -> tuple[dict, list[int]] | None:
        """Answer requests until one is a fork; returns the request in the child."""
        stale_sent = False
        timeout: float | None = 0.0  # a first look at once: a change before the watch began sent no event
        while True:
            watched = [wakeup] if self.sock is None else [self.sock, wakeup]
            if self.notify is not None:
                watched.append(self.notify.fd)
            readable, _, _ = select.select(watched, [], [], timeout)
            timeout = None if self._notified else CHECK_INTERVAL
            if wakeup in readable:
                _drain(wakeup)
            if self.notify is not None and self.notify.fd in readable:
                self.notify.wait(0)  # read the events; what changed is looked at below
            self.reap()
            if self.retiring and not self.children:
                os._exit(0)
            if self.sock is not None and self.sock in readable:
                request = self.receive()
                if request is None:
                    self.retiring = True  # debugdash closed our socket: end with the last worker
                    self.sock.close()
                    self.sock = None
                    continue
                message, fds = request
                if message.get("op") == "retire":
                    self.retiring = True
                    continue
                if message.get("op") == "fork":
                    if self.fork(message, fds):
                        return message, fds
                for fd in fds:
                    os.close(fd)
            elif self.sock is not None and not stale_sent and not self.retiring:
                reason = self.grown()
                if reason is not None:
                    stale_sent = True
                    self.send({"op": "stale", "reason": reason})

    def fork(self, message: dict, fds: list[int]) -> bool:
        """Fork a worker; True in the child."""
        reason = self.changed() if not self.retiring else "retiring"
        if reason is None and preload._python_threads():
            reason = "a thread runs in the template"
        if reason is not None:
            self.send({"op": "stale", "reason": reason, "reply": True})
            return False
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            return True
        self.children.add(pid)
        self.send({"op": "forked", "pid": pid})
        return False

    def reap(self) -> None:
        for pid in list(self.children):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done:
                self.children.discard(pid)
                try:
                    self.send({"op": "exit", "pid": pid, "code": os.waitstatus_to_exitcode(status)})
                except OSError:
                    pass

    def receive(self) -> tuple[dict, list[int]] | None:
        received = receive_line(self.sock, self.buffer)
        if received is None:
            return None
        message, fds, self.buffer = received
        return message, fds


def serve() -> None:
    """Be the template; returns only in a forked worker, set up as a fresh one."""
    sock = socket.socket(fileno=int(os.environ.pop(TEMPLATE_FD_ENV)))
    handlers = {sig: signal.getsignal(sig) for sig in signal.valid_signals()}
    template = _Template(sock)
    try:
        import flask.cli  # noqa: F401
        import werkzeug.debug  # noqa: F401
        import werkzeug.serving  # noqa: F401
    except ImportError:
        pass  # the worker's own start reports what is missing
    from debugdash.agent import hooks, link, output, reloader, runtime  # noqa: F401

    if not template.build():
        os._exit(0)
    template.watch()
    wakeup_r, wakeup_w = os.pipe()
    os.set_blocking(wakeup_r, False)
    os.set_blocking(wakeup_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wakeup_w)
    message, fds = template.serve(wakeup_r)
    # The child: nothing of the template's may remain observable.
    signal.set_wakeup_fd(-1)
    for fd in (wakeup_r, wakeup_w):
        os.close(fd)
    if template.notify is not None:
        template.notify.close()  # an inotify instance counts against a per-user limit
    if template.sock is not None:
        template.sock.close()
    _become_worker(message, fds, handlers)


def _become_worker(message: dict, fds: list[int], handlers: dict) -> None:
    os.setsid()
    stdout, stderr, *rest = fds
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(stdout, 1)
    os.dup2(stderr, 2)
    for fd in (devnull, stdout, stderr):
        os.close(fd)
    env = dict(message["env"])
    names = message.get("fds", [])
    for name, fd in zip(names, rest):
        env[name] = str(fd)
    env[PARENT_PID_ENV] = str(os.getppid())
    os.environ.clear()
    os.environ.update(env)
    os.chdir(message["cwd"])
    for sig, handler in handlers.items():
        if signal.getsignal(sig) is not handler and handler is not None:
            try:
                signal.signal(sig, handler)
            except (OSError, ValueError):
                pass
    from debugdash.agent import reloader

    # Counted from the fork: what changed while the template waited is what we import now.
    reloader.mark_start()


def _module_files() -> list[str]:
    files = []
    for module in list(sys.modules.values()):
        name = getattr(module, "__file__", None)
        if isinstance(name, str):
            files.append(os.path.realpath(name))
    return files


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


def _rss() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def receive_line(sock: socket.socket, buffer: bytes = b"") -> tuple[dict, list[int], bytes] | None:
    """One JSON line from ``sock`` (after what ``buffer`` holds), the descriptors that came with it,
    and what was read past the line; None at end of file, the descriptors received so far closed."""
    fds: list[int] = []
    while b"\n" not in buffer:
        try:
            data, more, _, _ = socket.recv_fds(sock, 65536, _MAX_FDS)
        except OSError:
            data, more = b"", []
        fds += more
        if not data:
            for fd in fds:
                os.close(fd)
            return None
        buffer += data
    line, _, rest = buffer.partition(b"\n")
    return json.loads(line), fds, rest
