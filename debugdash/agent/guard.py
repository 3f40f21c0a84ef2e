"""Nothing the app starts outlives debugdash, even when debugdash is SIGKILLed.

Set up before the app is imported, with three kernel mechanisms (Linux):

- this server is a child subreaper, so anything orphaned below it (a
  double-forked daemon, the child of a child that exited) is re-parented to it
  instead of init: its whole tree stays findable under its pid, whatever
  session or process group a member moved to;
- its parent-death signal is SIGSTOP when a guard runs (SIGKILL otherwise): when
  debugdash dies the kernel freezes the server at once, even while app code
  holds the GIL in C, and the frozen subreaper keeps its tree together (a SIGKILL
  would scatter its children to init, where nothing can tell them apart);
- a guard process, forked here, blocks on a pipe whose only writer is
  debugdash. End of file means debugdash is gone, however it ended: the guard
  kills every process below the server, then the server.

No code of the server's runs on that path, so nothing the app does (holding the
GIL, ignoring signals, calling setsid) can keep it alive.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import time

from debugdash.protocol.env import GUARD_FD_ENV, PARENT_PID_ENV

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
#: The exit code of a server whose debugdash is gone (as when the link drops).
LOST_EXIT_CODE = 4

#: The guard of this process, if it has one: never among what it kills itself.
_guard_pid: int | None = None


def protect() -> None:
    """Arm the subreaper flag, the guard and the parent-death signal; exit if debugdash is already gone."""
    parent = os.environ.get(PARENT_PID_ENV, "")
    guard_fd = _take_guard_fd()
    # A reloader parent's worker is started by us: it checks against our pid.
    os.environ[PARENT_PID_ENV] = str(os.getpid())
    keep_listener_private()
    if not parent.isdigit() or not sys.platform.startswith("linux"):
        if guard_fd is not None:
            os.close(guard_fd)
        return
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    # The guard first: a SIGSTOP with nobody to end the frozen server would hang it forever.
    guarded = guard_fd is not None and _fork_guard(guard_fd, os.getpid())
    if guard_fd is not None:
        os.close(guard_fd)
    _prctl(_PR_SET_PDEATHSIG, signal.SIGSTOP if guarded else signal.SIGKILL)
    atexit.register(_on_exit)
    if os.getppid() != int(parent):
        # debugdash died before the signal was armed; nothing of ours runs yet.
        os._exit(LOST_EXIT_CODE)


def _on_exit() -> None:
    """A normal exit (a reload's code 3, say): what the app started ends with this
    process, and the guard is reaped here rather than left to debugdash as an orphan."""
    guard = _guard_pid
    # From here debugdash's death must end us outright: a spare that read end of
    # file because debugdash was dying gets here just before the kernel sends
    # the parent-death SIGSTOP, and once the guard below is killed nothing
    # would ever end a frozen server.
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    end_descendants(os.getpid(), spare_guard=False)
    if guard is not None:
        _kill(guard, signal.SIGKILL)
        try:
            os.waitpid(guard, 0)
        except ChildProcessError:
            pass


def _take_guard_fd() -> int | None:
    text = os.environ.pop(GUARD_FD_ENV, "")
    if not text.isdigit():
        return None
    fd = int(text)
    try:
        os.fstat(fd)
    except OSError:
        return None
    return fd


def keep_listener_private() -> None:
    """The listening socket handed to a worker stays with the worker: the app's
    children (os.system, subprocess with close_fds=False) must not hold the port."""
    fd = os.environ.get("WERKZEUG_SERVER_FD", "")
    if fd.isdigit():
        try:
            os.set_inheritable(int(fd), False)
        except OSError:
            pass


def _prctl(option: int, value: int) -> bool:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (ImportError, OSError, AttributeError):
        return False


def _fork_guard(pipe: int, server: int) -> bool:
    """Fork the guard of ``server``; True in the server once the guard runs."""
    global _guard_pid
    try:
        pid = os.fork()
    except OSError:
        return False
    if pid:
        _guard_pid = pid
        return True
    try:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # a guard whose server ended has nothing to guard
        if os.getppid() == server:
            _release_everything_but(pipe)
            while os.read(pipe, 1):
                pass
            end_tree(server)
    finally:
        os._exit(0)


def _release_everything_but(keep: int) -> None:
    """Drop the server's output pipes and sockets: the guard must hold no port and keep no pipe open."""
    null = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(null, target)
    os.closerange(3, keep)
    os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))


def end_tree(root: int) -> None:
    """Freeze ``root``, kill everything below it, then ``root``."""
    _kill(root, signal.SIGSTOP)
    end_descendants(root)
    _kill(root, signal.SIGKILL)


def end_descendants(root: int, *, spare_guard: bool = True) -> None:
    """SIGKILL every process below ``root`` (but the caller) until none is left.

    ``root`` is a subreaper, so a member forked while we kill is re-parented to it
    and found by the next pass.
    """
    # Spare the guard: when debugdash dies, the server may see its link close
    # and get here just before the kernel freezes it; the guard must live to finish.
    spared = (os.getpid(), _guard_pid if spare_guard else None)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        members = [pid for pid in descendants(root) if pid not in spared]
        if not members:
            return
        for pid in members:
            _kill(pid, signal.SIGKILL)
        time.sleep(0.005)


def descendants(root: int) -> list[int]:
    """Live (not zombie) processes below ``root``, read from /proc (no psutil in the app's environment)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != b"Z":
            children.setdefault(int(fields[1]), []).append(int(name))
    found: list[int] = []
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except OSError:
        pass
