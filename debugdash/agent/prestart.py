"""The server interpreter debugdash starts before it has imported itself.

debugdash's own imports (click, asyncio, the supervisor) take as long as
Flask's, and the server used to start only after them. Now the command's first
lines start this interpreter, which imports what every server imports (Flask,
Werkzeug, this agent) on the other core, and waits on its socket (fd 0) for the
command it is to run: its arguments, its environment and the descriptors named
in it (the guard pipe, the listening socket). It then runs
``python -m debugdash.agent ...`` as a fresh start would, in this process.

Until that message nothing of the app runs here; end of file (debugdash gone,
or not using us because the settings asked for another interpreter or folder)
ends the process. ``debugdash.core.prestart`` is the other side.
"""

from __future__ import annotations

import json
import os
import runpy
import socket
import sys

_MAX_FDS = 8


def main() -> None:
    channel = socket.socket(fileno=os.dup(0))
    _preload()
    received = _receive(channel)
    channel.close()
    if received is None:
        os._exit(0)
    message, fds = received
    _become(message, fds)
    runpy.run_module("debugdash.agent", run_name="__main__", alter_sys=True)


def _preload() -> None:
    try:
        import flask.cli  # noqa: F401
        import werkzeug.debug  # noqa: F401
        import werkzeug.serving  # noqa: F401
        from flask.helpers import get_load_dotenv
    except ImportError:
        pass  # the server's own start reports what is missing
    else:
        # What every server imports between its command and its first request,
        # imported here while debugdash is not ready yet (~10 ms of the
        # start's critical path): the PIN counter of the debugger the gate
        # always mounts (multiprocessing), the idna codec of the bound host
        # name, and python-dotenv, which Flask's CLI loads unless told not to.
        import encodings.idna  # noqa: F401
        import multiprocessing.sharedctypes  # noqa: F401
        import multiprocessing.synchronize  # noqa: F401

        if get_load_dotenv():
            try:
                import dotenv  # noqa: F401
            except ImportError:
                pass
    import ctypes  # noqa: F401  (the guard's prctl)

    from debugdash.agent import guard, hooks, link, output, runtime  # noqa: F401


def _receive(channel: socket.socket) -> tuple[dict, list[int]] | None:
    # agent.template.receive_line reads the same kind of line; not imported here, because a
    # fresh server never loads that module and this one must look fresh, module for module.
    buffer, fds = b"", []
    while b"\n" not in buffer:
        try:
            data, more, _, _ = socket.recv_fds(channel, 1 << 16, _MAX_FDS)
        except OSError:
            data, more = b"", []
        fds += more
        if not data:
            for fd in fds:
                os.close(fd)
            return None
        buffer += data
    return json.loads(buffer.partition(b"\n")[0]), fds


def _become(message: dict, fds: list[int]) -> None:
    """Take the environment, descriptors, path and arguments of a fresh ``-m debugdash.agent`` start."""
    env = dict(message["env"])
    for name, fd in zip(message.get("fds", []), fds):
        env[name] = str(_renumber(fd, message.get("numbers", {}).get(name)))
    os.environ.clear()
    os.environ.update(env)
    # The server's stdin, as for every server: nothing.
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    # A fresh start puts PYTHONPATH after the folder; debugdash added its import folder first.
    for index, entry in enumerate(message.get("path_prepend", [])):
        sys.path.insert(1 + index, entry)
    sys.argv = [sys.argv[0], *message["args"]]
    from debugdash.agent import reloader

    # Counted from now, as a fresh start counts from its own: files saved while we
    # waited are what we are about to import, not changes (a reload at once).
    reloader.mark_start()


def _renumber(fd: int, number: int | None) -> int:
    """The descriptor under the number a fresh start inherits it with (pass_fds keeps
    debugdash's numbers), when that number is free here; inheritable, as pass_fds makes it."""
    if number is not None and number > 2 and number != fd:
        try:
            os.fstat(number)
        except OSError:  # free
            os.dup2(fd, number)
            os.close(fd)
            fd = number
    os.set_inheritable(fd, True)
    return fd
