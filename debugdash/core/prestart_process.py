"""The early interpreter (``core.prestart``) made the supervisor's first server.

It was started (forked or spawned) before asyncio was imported, so asyncio does
not wait for it: ``EarlyProcess`` gives it the face of an asyncio subprocess,
its exit read through a pidfd (it is our child, reaped here and nowhere else),
its output through the pipes it was started with.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from debugdash.core.prestart import Prestart
from debugdash.core.server_process import OutputSink, ServerProcess, read_output
from debugdash.protocol import env as agent_env

#: What debugdash adds to the server's environment for the agent: expected to differ from the launch.
AGENT_NAMES = {
    agent_env.SOCKET_ENV, agent_env.TOKEN_ENV, agent_env.RELOAD_ENV, agent_env.DEBUGPY_PATH_ENV,
    agent_env.OWNER_UID_ENV, agent_env.PARENT_PID_ENV, agent_env.PRELOAD_FILE_ENV, agent_env.GUARD_FD_ENV,
    agent_env.HOST_ENV, agent_env.PORT_ENV, "WERKZEUG_RUN_MAIN", "WERKZEUG_SERVER_FD",
}
#: The variables that name a descriptor handed to the server.
_FD_NAMES = ("WERKZEUG_SERVER_FD", agent_env.GUARD_FD_ENV)


class EarlyProcess:
    """The early interpreter, looking like ``asyncio.subprocess.Process``."""

    stdin = None

    def __init__(self, early: Prestart) -> None:
        self._popen = early.proc
        self.pid = early.pid
        self.returncode: int | None = None
        self._exited = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._pidfd: int | None = os.pidfd_open(self.pid)
        loop.add_reader(self._pidfd, self._reap)
        self._reap()  # it may have ended before we looked

    def _reap(self) -> None:
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            pid, status = self.pid, -1  # reaped elsewhere: the code is lost
        if pid == 0:
            return
        self.returncode = os.waitstatus_to_exitcode(status) if status >= 0 else -1
        self._popen.returncode = self.returncode  # nothing waits for it again
        if self._pidfd is not None:
            asyncio.get_running_loop().remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        self._exited.set()

    async def wait(self) -> int:
        await self._exited.wait()
        assert self.returncode is not None
        return self.returncode


async def adopt(
    early: Prestart, command: list[str], env: dict[str, str], *,
    cwd: str, pass_fds: tuple[int, ...], output: OutputSink, key: tuple[Any, ...],
) -> ServerProcess | None:
    """Hand ``command`` to the early interpreter and follow it as a server; None when it does not fit
    (then it is ended, and the caller starts a fresh one)."""
    fds = {name: int(env[name]) for name in _FD_NAMES if env.get(name, "").isdigit()}
    if sorted(fds.values()) != sorted(pass_fds) or not early.fits(command, env, cwd, AGENT_NAMES):
        early.discard()
        return None
    try:
        early.hand_over(command, env, fds)
    except OSError:
        early.discard()
        return None
    pumps = []
    for name, pipe in (("stdout", early.proc.stdout), ("stderr", early.proc.stderr)):
        fd = os.dup(pipe.fileno())
        pipe.close()
        pumps.append(read_output(fd, name, output))
    return ServerProcess(EarlyProcess(early), pumps, key)  # type: ignore[arg-type]  # the face of a Process
