"""One server process: its command line and environment, spawning it with its
output pumped into the log, waiting for its exit, and ending its whole tree.

Nothing here knows the supervisor: what a process needs (settings, switches,
the session's paths, where output goes) is handed in.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import psutil

from debugdash.core import process
from debugdash.core.logbuffer import LineSplitter
from debugdash.core.pipe_reader import PipeReader
from debugdash.core.session_dir import SessionDir
from debugdash.core.settings import Settings
from debugdash.protocol import env as agent_env
from debugdash.protocol.events import Toggles

#: Werkzeug's reloader ends a worker with this code to ask for the next one.
RELOAD_EXIT_CODE = 3

#: Where a chunk of output goes: the stream's name, its complete lines joined
#: by newlines, and how many there are (``LogBuffer.append_block``).
OutputSink = Callable[[str, bytes, int], None]


def server_command(settings: Settings, toggles: Toggles) -> list[str]:
    """The command line that runs the server under the agent."""
    s = settings
    # debugpy's advice on 3.11+: frozen stdlib modules hide their frames from breakpoints.
    python = [s.python, "-X", "frozen_modules=off"] if toggles.attach else [s.python]
    if s.script is not None:
        return [*python, "-m", "debugdash.agent", "script", str(s.script), *s.extra_args]
    cmd = [*python, "-m", "debugdash.agent", "flask"]
    if s.app:
        cmd += ["--app", s.app]
    cmd += ["--debug" if toggles.debug else "--no-debug", "run"]
    cmd += ["--host", s.host, "--port", str(s.port)]
    cmd += ["--reload" if toggles.reloader else "--no-reload"]
    if s.cert:
        cmd += ["--cert", s.cert]
    if s.key:
        cmd += ["--key", s.key]
    return [*cmd, *s.extra_args]


def server_environment(settings: Settings, toggles: Toggles, session: SessionDir, token: str) -> dict[str, str]:
    """The server's environment: the user's, plus what the agent needs to find us."""
    env = {**settings.env, **os.environ}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(session.import_dir), env.get("PYTHONPATH", "")) if p)
    env[agent_env.SOCKET_ENV] = str(session.agent_socket)
    env[agent_env.TOKEN_ENV] = token
    env[agent_env.RELOAD_ENV] = "1" if toggles.reloader else "0"
    env[agent_env.DEBUGPY_PATH_ENV] = str(session.debugpy_dir)
    # A loopback peer is local only when it is this user: the agent must know who that is.
    env[agent_env.OWNER_UID_ENV] = str(os.getuid())
    env[agent_env.PARENT_PID_ENV] = str(os.getpid())
    if toggles.reloader:
        env[agent_env.PRELOAD_FILE_ENV] = str(session.path / "preload.json")
    if session.guard_fd is not None:
        env[agent_env.GUARD_FD_ENV] = str(session.guard_fd)
    if settings.script is not None:
        env[agent_env.HOST_ENV] = settings.host
        if settings.port_given:
            env[agent_env.PORT_ENV] = str(settings.port)
        env.pop("FLASK_RUN_FROM_CLI", None)
    # Textual and our own terminal settings mean nothing to the server.
    env.pop("TEXTUAL", None)
    return env


@dataclasses.dataclass
class ServerProcess:
    """A server process we started, with the tasks reading its output."""

    proc: asyncio.subprocess.Process
    pumps: list[asyncio.Task[None]]
    key: tuple[Any, ...]  # what it was started with; a spare must still match

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc.returncode is None

    def stop_pumps(self) -> None:
        for pump in self.pumps:
            pump.cancel()


async def spawn(
    command: list[str],
    env: dict[str, str],
    *,
    cwd: str,
    pass_fds: tuple[int, ...],
    with_stdin: bool,
    output: OutputSink,
    key: tuple[Any, ...],
) -> ServerProcess:
    """Start ``command`` in a session of its own, its output read from the first byte."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        proc = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE if with_stdin else asyncio.subprocess.DEVNULL,
            stdout=out_w,
            stderr=err_w,
            cwd=cwd,
            env=env,
            pass_fds=pass_fds,
            start_new_session=True,
        )
    except BaseException:
        for fd in (out_r, err_r):
            os.close(fd)
        raise
    finally:
        for fd in (out_w, err_w):
            os.close(fd)
    # Read from the start: a spare, too, must never block on a full pipe.
    return ServerProcess(proc, [read_output(out_r, "stdout", output), read_output(err_r, "stderr", output)], key)


def read_output(fd: int, name: str, output: OutputSink) -> asyncio.Task[None]:
    """Pump the pipe ``fd`` (now ours) into ``output`` until it ends; cancelling the task stops the reading."""
    widen_pipe(fd)
    reader = PipeReader(fd)
    task = asyncio.ensure_future(pump(reader, name, output))
    task.add_done_callback(lambda _: reader.close())
    return task


async def pump(stream: PipeReader, name: str, output: OutputSink) -> None:
    splitter = LineSplitter()
    while chunk := await stream.read():
        block, count = splitter.feed(chunk)
        if count:
            output(name, block, count)
    output(name, *splitter.flush())


async def exit_code(server: ServerProcess) -> int:
    """The exit code of ``server`` as soon as it exits, its remaining output read.

    ``proc.wait()`` returns only once its output pipes are closed too, which a
    child it left behind (a daemon started just before a crash) may never do.
    """
    proc = server.proc
    waiter = asyncio.ensure_future(proc.wait())
    try:
        while proc.returncode is None:
            await _exit_or(waiter, proc.pid)
        # Exited: a moment for the pipes to close as usual, then go on without them.
        await asyncio.wait([waiter], timeout=1.0)
    finally:
        waiter.cancel()
    # Output still in the pipes belongs to this run; grandchildren holding
    # the pipes open must not keep us waiting.
    await asyncio.wait(server.pumps, timeout=1.0)
    server.stop_pumps()
    return proc.returncode if proc.returncode is not None else -1


#: Seconds between looks at the exit code where a process cannot be watched by descriptor.
EXIT_POLL = 0.5


async def _exit_or(waiter: asyncio.Future[int], pid: int) -> None:
    """Return when ``pid`` exits (or ``waiter`` is done), without waking until then.

    A pidfd becomes readable when the process ends, before its pipes close and
    before asyncio's child watcher hands over the code (which follows at once):
    an idle supervisor is not woken twice a second to look.
    """
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        # No pidfd here, or reaped already (by the template that forked it, which
        # reports the code; or by the child watcher, whose code arrives at once).
        await asyncio.wait([waiter], timeout=EXIT_POLL)
        return
    loop = asyncio.get_running_loop()
    ended = loop.create_future()
    loop.add_reader(pidfd, lambda: ended.done() or ended.set_result(None))
    try:
        await asyncio.wait([waiter, ended], return_when=asyncio.FIRST_COMPLETED)
        if ended.done() and not waiter.done():
            # Exited: the code comes with the child watcher's next turn.
            await asyncio.wait([waiter], timeout=EXIT_POLL / 25)
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)
        ended.cancel()


async def terminate(pid: int, known: list[psutil.Process] | None, done: asyncio.Event) -> None:
    """SIGTERM the tree of ``pid``, SIGKILL after the grace period, until ``done`` is set.

    The server itself is our child and asyncio reaps it; psutil only waits for
    the rest of the tree, or the exit code would be lost.
    """
    others = process.members(pid, known)
    process.signal_tree(pid, others, signal.SIGTERM)
    try:
        await asyncio.wait_for(done.wait(), timeout=process.GRACE_SECONDS)
    except asyncio.TimeoutError:
        process.signal_tree(pid, others, signal.SIGKILL)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=3.0)
    await asyncio.to_thread(process.finish, pid, others, 0.5)


def widen_pipe(fd: int) -> None:
    """Give an output pipe 1 MiB instead of 64 KiB (Linux), so a burst of output
    waits in the pipe rather than blocking the app while we are busy elsewhere."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", 1031 if sys.platform == "linux" else None)
    if set_size is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, set_size, 1 << 20)
