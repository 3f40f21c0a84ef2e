"""Start the server's interpreter before debugdash has imported itself.

debugdash's imports (click, asyncio, the supervisor's parts) cost as much CPU
as the server's own (Flask, Werkzeug), and the server used to start after
them: start-up paid both in a row. The command's first lines (``launch``) now
start ``debugdash.agent.prestart`` on the other core, with the interpreter and
folder the settings will most likely name; it imports Flask and waits. The
supervisor's first launch hands it the real command (``hand_over``) if it was
started the way that command would be; otherwise it is ended unused
(``discard``) and a fresh server is started as before.

Standard library only, and nothing of debugdash at import but
``core.early_start`` (how the interpreter is started, likewise): this module
runs before everything else is imported.
"""

from __future__ import annotations

import _socket
import contextlib
import os
import signal
import sys

from debugdash.core import early_start

# Only what the fork needs is imported at the top: every import here delays
# the server's start (typing, json, shutil, subprocess, pathlib: ~10 ms; socket,
# with selectors and array, ~3 ms: the socket pair is made with _socket).
TYPE_CHECKING = False  # typing.TYPE_CHECKING's idiom without importing typing
if TYPE_CHECKING:
    import socket
    from collections.abc import Callable

#: "0" turns the early start off (then the server starts once the supervisor is up).
PRESTART_SWITCH_ENV = "DEBUGDASH_PRESTART"

#: Commands that start no server: nothing to start early for.
_NOT_SERVING = frozenset(
    {"allow", "revoke", "status", "toggle", "restart", "new-pin", "requests", "curl", "replay", "errors", "eval", "mcp", "demo"}
)
#: Options that mean no server, or one started another way (attach: other interpreter flags; script mode).
_NOT_HERE = frozenset({"-h", "--help", "--version", "--attach", "--script"})

_pending: Prestart | None = None


class Prestart:
    """An agent interpreter started early, waiting on ``channel`` for its command."""

    def __init__(self, proc: early_start.ForkedChild, channel: socket.socket, python: str, cwd: str, env: dict[str, str]) -> None:
        self.proc = proc
        self.channel: socket.socket | None = channel
        self.python = python
        self.cwd = cwd
        self.env = env
        #: The environment the interpreter check's answer holds for; None when it gives none (``check_answer``).
        self.check_env: dict[str, str] | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def fits(self, command: list[str], env: dict[str, str], cwd: str, agent_names: set[str]) -> bool:
        """Whether a fresh start of ``command`` would have begun as this process did.

        The interpreter, the folder, and what the interpreter and the imports
        done so far read of the environment: ``PYTHON*`` and the locale. Variables
        debugdash sets for the agent (``agent_names``) come with the command;
        PYTHONPATH may only have debugdash's import folder in front.
        """
        if self.channel is None or self.proc.poll() is not None:
            return False
        if command[:3] != [self.python, "-m", "debugdash.agent"] or os.path.realpath(cwd) != os.path.realpath(self.cwd):
            return False
        for name in set(env) | set(self.env):
            if name in agent_names or name == "PYTHONPATH":
                continue
            if name.startswith(("PYTHON", "LC_", "LANG")) and env.get(name) != self.env.get(name):
                return False
        return _path_prepend(env, self.env) is not None

    def hand_over(self, command: list[str], env: dict[str, str], fds: dict[str, int]) -> None:
        """Send the command, environment and descriptors; from now on it is that server. Raises OSError."""
        channel, self.channel = self.channel, None
        assert channel is not None
        message = {
            "args": command[3:],
            "env": {name: value for name, value in env.items() if name not in fds},
            "fds": list(fds),
            "numbers": fds,
            "path_prepend": _path_prepend(env, self.env),
        }
        import json
        import socket

        data = json.dumps(message).encode() + b"\n"
        try:
            sent = socket.send_fds(channel, [data], list(fds.values()))
            # Only what is left: an early server that waited for this reads the
            # whole line and closes its end at once, and sending even nothing
            # to a closed end fails (EPIPE), which threw a fitting start away.
            if sent < len(data):
                channel.sendall(data[sent:])
        finally:
            channel.close()

    def discard(self) -> None:
        """End it unused: it runs nothing of the app, so no grace is owed."""
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def launch(args: list[str], environ: dict[str, str] | None = None, *, wait: Callable[[], None] | None = None) -> Prestart | None:
    """Start the server's interpreter now if ``args`` will start a server; kept for ``take()``.

    ``wait`` is the agent's early start (``debugdash.agent.prestart.main``),
    which a child forked from this interpreter runs; without it, or when a
    fork would not be what a fresh start is, a new interpreter runs it.
    """
    global _pending
    environ_is_ours = environ is None
    environ = dict(os.environ if environ is None else environ)
    if not _wanted(args, environ):
        return None
    python = _python(args, environ)
    if python is None:
        return None
    environ.pop("TEXTUAL", None)
    # The settings check a named interpreter by running it once (``core.interpreter``): this start answers for it.
    check = os.path.abspath(python) != os.path.abspath(sys.executable) and _names_python(args)
    ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        if wait is not None and python == sys.executable and environ_is_ours and early_start.fork_safe():
            proc = early_start.fork(theirs, ours, wait)
        else:
            proc = early_start.spawn(python, theirs.fileno(), environ, check=check)
    finally:
        theirs.close()
    if proc is None:
        ours.close()
        return None
    _widen(proc)
    import socket

    _pending = Prestart(proc, socket.socket(fileno=ours.detach()), python, os.getcwd(), environ)
    if check:
        _pending.check_env = dict(os.environ)
    return _pending


def check_answer(python: str, cwd: str, env: dict[str, str], timeout: float) -> str | None:
    """What the early start of ``python`` printed for the interpreter check, as the
    probe prints it; None when there is no early start of it in ``cwd`` under
    ``env`` to ask, or it ended without answering. Raises TimeoutError."""
    early = _pending
    if early is None or early.channel is None or early.check_env is None or early.python != python:
        return None
    if os.path.realpath(cwd) != os.path.realpath(early.cwd) or dict(env) != early.check_env:
        return None
    early.check_env = None  # asked once, as a probe runs once
    channel = early.channel
    answer = b""
    channel.settimeout(timeout)
    try:
        while not answer.endswith(b"\n"):
            data = channel.recv(64)
            if not data:
                return None
            answer += data
    except TimeoutError:
        raise
    except OSError:
        return None
    finally:
        channel.settimeout(None)
    return answer.decode(errors="replace")


def take() -> Prestart | None:
    """The early interpreter, now the caller's to use or discard; None when there is none."""
    global _pending
    early, _pending = _pending, None
    return early


def discard_pending() -> None:
    """The command ended without a supervisor taking it (bad input, say): end it."""
    early = take()
    if early is not None:
        early.discard()


def _wanted(args: list[str], environ: dict[str, str]) -> bool:
    if environ.get(PRESTART_SWITCH_ENV) == "0" or not sys.platform.startswith("linux"):
        return False
    if not hasattr(os, "pidfd_open"):
        return False
    if args and args[0] in _NOT_SERVING:
        return False
    before_extra = args[: args.index("--")] if "--" in args else args
    return not any(arg.split("=", 1)[0] in _NOT_HERE for arg in before_extra)


def _python(args: list[str], environ: dict[str, str]) -> str | None:
    """The interpreter the settings will name, as ``core.interpreter`` finds it; a wrong guess is discarded."""
    given = None
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--python":
            given = args[index + 1] if index + 1 < len(args) else None
            if given is None:
                return None
        elif arg.startswith("--python="):
            given = arg.split("=", 1)[1]
    if given is not None:
        if os.sep in given:
            found: str | None = given
        else:
            import shutil

            found = shutil.which(given)
        return _absolute(found) if found and os.access(found, os.X_OK) else None
    venv = environ.get("VIRTUAL_ENV")
    if venv and os.path.exists(os.path.join(venv, "bin", "python")):
        return os.path.join(venv, "bin", "python")
    return sys.executable


def _absolute(path: str) -> str:
    """``str(Path(path).absolute())``, as core.interpreter spells it (or it would not
    match), without importing pathlib (~5 ms) for a path it would leave as it is."""
    if path.startswith("/") and not path.endswith(("/", "/.")) and "//" not in path and "/./" not in path:
        return path
    from pathlib import Path

    return str(Path(path).absolute())


def _names_python(args: list[str]) -> bool:
    before_extra = args[: args.index("--")] if "--" in args else args
    return any(arg == "--python" or arg.startswith("--python=") for arg in before_extra)


def _path_prepend(env: dict[str, str], early_env: dict[str, str]) -> list[str] | None:
    """The entries debugdash put in front of the early interpreter's PYTHONPATH; None when it differs otherwise."""
    final = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    early = [p for p in early_env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if len(final) < len(early) or final[len(final) - len(early):] != early:
        return None
    return final[: len(final) - len(early)]


def _widen(proc: early_start.ForkedChild) -> None:
    """1 MiB output pipes as every server gets: what it prints before the supervisor reads waits there."""
    import fcntl

    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                fcntl.fcntl(stream.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
