"""Ending a server's whole process tree, from /proc: what a guard does when
debugdash is gone, and what a server does at its own exit.

Standard library only, and nothing else of debugdash: the early server's
standby guard (``agent.standby``) imports this and nothing more.
"""

from __future__ import annotations

import os
import signal
import time


def watch(pipe: int, server: int) -> None:
    """Be the guard of ``server``: hold nothing but ``pipe``, block on it, and at end of
    file (debugdash gone, however it ended) end the server's whole tree."""
    release_everything_but(pipe)
    while os.read(pipe, 1):
        pass
    end_tree(server)


def release_everything_but(keep: int) -> None:
    """Drop the server's output pipes and sockets: a guard must hold no port and keep no pipe open."""
    null = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(null, target)
    os.closerange(3, keep)
    os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))


def end_tree(root: int) -> None:
    """Freeze ``root``, kill everything below it, then ``root``."""
    kill(root, signal.SIGSTOP)
    end_descendants(root)
    kill(root, signal.SIGKILL)


def end_descendants(root: int, spared: tuple[int | None, ...] = ()) -> None:
    """SIGKILL every process below ``root`` but the caller and ``spared`` until none is left.

    ``root`` is a subreaper, so a member forked while we kill is re-parented to it
    and found by the next pass.
    """
    spared = (os.getpid(), *spared)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        members = [pid for pid in descendants(root) if pid not in spared]
        if not members:
            return
        for pid in members:
            kill(pid, signal.SIGKILL)
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


def kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except OSError:
        pass
