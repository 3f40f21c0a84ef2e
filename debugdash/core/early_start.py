"""How the early interpreter starts (``core.prestart``): forked from debugdash's
own, or a new one for another interpreter, each with what a fresh server's
start would give it (a session of its own, the standard descriptors only).

Standard library only, and nothing of debugdash at import: this module runs
before everything else is imported.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING's idiom without importing typing
if TYPE_CHECKING:
    import _socket
    from collections.abc import Callable
    from typing import Any

# The agent's package from its real folder, without the import folder a
# session makes later (it would put nothing else of our environment on the
# path either); the folder first on sys.path, as `python -m` would have it.
# Until debugdash hands over, its death ends this process at once (and end of
# file on fd 0 would, once the imports are done). With ``check`` it first
# answers on fd 0 what ``core.interpreter``'s probe of a named interpreter
# would print: the probe's own run was a third interpreter starting beside
# this one and debugdash's imports, on a machine with two cores.
# The guard's standby is forked before anything of the server is imported
# (``agent.standby``), as in a forked early start.
_BOOT = """\
import ctypes, os, sys
ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)
if os.getppid() != {parent}:
    os._exit(0)
for fd in os.listdir("/proc/self/fd"):
    if int(fd) > 2:
        try:
            os.close(int(fd))
        except OSError:
            pass
if sys.path and sys.path[0] == "":
    sys.path[0] = os.getcwd()
import importlib.util
if {check}:
    os.write(0, b"python flask\\n" if importlib.util.find_spec("flask") else b"python\\n")
spec = importlib.util.spec_from_file_location("debugdash", {init!r}, submodule_search_locations=[{package!r}])
module = importlib.util.module_from_spec(spec)
sys.modules["debugdash"] = module
spec.loader.exec_module(module)
from debugdash.agent import standby
standby.start()
from debugdash.agent import prestart
prestart.main()
"""

def spawn(python: str, channel: int, environ: dict[str, str], *, check: bool = False) -> ForkedChild | None:
    """A new interpreter (another one than ours, or ours under other flags) running the boot lines.

    ``posix_spawn``, not ``subprocess``: importing subprocess cost this
    path ~5 ms before the interpreter could start. What ``Popen`` would do
    is done here or by the boot lines: a session of its own, SIGPIPE and
    SIGXFSZ back to their defaults, no descriptor but the three standard ones.
    """
    package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    boot = _BOOT.format(init=os.path.join(package, "__init__.py"), package=package, parent=os.getpid(), check=check)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = None
    try:
        if min(channel, out_w, err_w) > 2:  # else a dup2 below would overwrite another
            pid = os.posix_spawn(
                python, [python, "-c", boot], environ,
                file_actions=[(os.POSIX_SPAWN_DUP2, channel, 0), (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)],
                setsid=True, setsigdef=(signal.SIGPIPE, signal.SIGXFSZ),
            )
    except OSError:
        pass
    finally:
        os.close(out_w)
        os.close(err_w)
    if pid is None:
        os.close(out_r)
        os.close(err_r)
        return None
    return ForkedChild(pid, os.fdopen(out_r, "rb"), os.fdopen(err_r, "rb"))


class ForkedChild:
    """A child started without ``subprocess`` (forked, or spawned), with what ``Prestart`` uses of a ``Popen``."""

    def __init__(self, pid: int, stdout: Any, stderr: Any) -> None:
        self.pid = pid
        self.stdout = stdout
        self.stderr = stderr
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self._reap(os.WNOHANG)
        return self.returncode

    def wait(self) -> int | None:
        """Blocks until it exits: called only after it was sent SIGKILL."""
        if self.returncode is None:
            self._reap(0)
        return self.returncode

    def _reap(self, flags: int) -> None:
        try:
            pid, status = os.waitpid(self.pid, flags)
        except ChildProcessError:
            self.returncode = -1
            return
        if pid:
            self.returncode = os.waitstatus_to_exitcode(status)


def fork_safe() -> bool:
    """Forking this interpreter gives what a fresh one would be: no threads, no flags of its own."""
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        return False
    flags = sys.flags
    return not (
        sys._xoptions or sys.warnoptions or flags.isolated or flags.ignore_environment or flags.no_site
        or flags.no_user_site or flags.dev_mode or flags.optimize or flags.bytes_warning or flags.verbose
        or flags.inspect or flags.interactive or flags.safe_path
    )


def fork(theirs: _socket.socket, ours: _socket.socket, wait: Callable[[], None]) -> ForkedChild | None:
    """Our own interpreter, already started: forked, it skips an interpreter's start (and an exec)."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError:
        for fd in (out_r, out_w, err_r, err_w):
            os.close(fd)
        return None
    if pid == 0:
        # Their numbers are closed or reused below: nothing may close them again later.
        channel = theirs.detach()
        ours.detach()
        _become_early(channel, out_w, err_w, parent, wait)
    os.close(out_w)
    os.close(err_w)
    return ForkedChild(pid, os.fdopen(out_r, "rb"), os.fdopen(err_r, "rb"))


def _become_early(channel: int, out_w: int, err_w: int, parent: int, wait: Callable[[], None]) -> None:
    """In the forked child: the descriptors, session and ties of the boot lines' interpreter, then wait.

    Never returns: the server it becomes ends by SystemExit through our
    callers, as a fresh interpreter's ``-m`` ends, running its atexit handlers.
    """
    try:
        os.setsid()
        os.dup2(channel, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        for name in os.listdir("/proc/self/fd"):
            if int(name) > 2:
                with contextlib.suppress(OSError):
                    os.close(int(name))
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:
            os._exit(0)
    except BaseException:
        os._exit(1)
    os.environ.pop("TEXTUAL", None)
    # As `python -m` has it: the folder first; nothing of debugdash's command.
    sys.path[0] = os.getcwd()
    for name in [n for n in sys.modules if n == "debugdash.launch" or n.startswith("debugdash.core")]:
        del sys.modules[name]
    wait()
    os._exit(0)  # wait() runs the server, which ends by SystemExit
