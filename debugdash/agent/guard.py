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
- a guard process (forked here, or the early server's standby, started
  before the server grew: ``agent.standby``) blocks on a pipe whose only
  writer is debugdash. End of file means debugdash is gone, however it ended:
  the guard kills every process below the server, then the server.

No code of the server's runs on that path, so nothing the app does (holding the
GIL, ignoring signals, calling setsid) can keep it alive.
"""

from __future__ import annotations

import _socket
import atexit
import os
import signal
import sys

from debugdash.agent import process_tree, standby
from debugdash.protocol.env import GUARD_FD_ENV, PARENT_PID_ENV

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
#: The exit code of a server whose debugdash is gone (as when the link drops).
LOST_EXIT_CODE = 4

#: How long ``protect`` waits for the early server's standby to say it is armed.
STANDBY_TIMEOUT = 10.0
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
        _drop_standby()
        if guard_fd is not None:
            os.close(guard_fd)
        return
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    # The guard first: a SIGSTOP with nobody to end the frozen server would hang it forever.
    guarded = guard_fd is not None and _start_guard(guard_fd, os.getpid())
    _drop_standby()
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
        process_tree.kill(guard, signal.SIGKILL)
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


def _start_guard(pipe: int, server: int) -> bool:
    """Start the guard of ``server``, this process; True once it runs.

    The early server's standby (``agent.standby``), started before the
    server grew, becomes the guard when it gets the pipe, once it said it is
    armed; any other server (or one whose standby did not arm) forks its guard
    now, while it is still small (before the app is imported)."""
    global _guard_pid
    taken = standby.take()
    if taken is not None:
        pid, sock = taken
        try:
            sock.settimeout(STANDBY_TIMEOUT)  # armed ~100 ms before the server gets here
            if sock.recv(1) != standby.ARMED:
                raise ConnectionError("the standby ended unarmed")
            sock.sendmsg([b"g"], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, pipe.to_bytes(4, sys.byteorder))])
        except OSError:  # not armed, or gone: fork one as if there had been none
            process_tree.kill(pid, signal.SIGKILL)
            _reap(pid)
        else:
            _guard_pid = pid
            return True
        finally:
            sock.close()
    return _fork_guard(pipe, server)


def _drop_standby() -> None:
    """A standby no pipe was handed to reads end of file and ends: reap it."""
    taken = standby.take()
    if taken is not None:
        pid, sock = taken
        sock.close()
        _reap(pid)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


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
            process_tree.watch(pipe, server)
    finally:
        os._exit(0)


def end_descendants(root: int, *, spare_guard: bool = True) -> None:
    """SIGKILL every process below ``root`` (but the caller) until none is left."""
    # Spare the guard: when debugdash dies, the server may see its link close
    # and get here just before the kernel freezes it; the guard must live to finish.
    process_tree.end_descendants(root, (_guard_pid,) if spare_guard else ())
