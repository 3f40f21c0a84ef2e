"""The early server's guard, forked first thing, while the server is still small.

A forked process shares every page of its parent until one of them writes to
it. The guard (``agent.guard``) was forked after the early server had
imported Flask and the agent, so while the server then imported the app each
page it wrote (a reference count, the collector's bookkeeping, an allocation
in a partly used block) was copied first. Forked before the server imports
anything, the guard shares only the few pages the server had then.

It cannot watch yet: the pipe only debugdash writes to comes with the
command. Once armed (its parent-death signal set, nothing of the server's
held) it says so on its socket and waits for that pipe; ``guard.protect``
reads that word, hands the pipe over, and the standby becomes the guard. A
standby that did not arm is not relied on: the server forks a guard as
before. End of file before a pipe (the early server unused, or gone) ends it.

Standard library only (and ``agent.process_tree``, likewise): it runs before
anything else in the early server.
"""

from __future__ import annotations

import _socket
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1
#: What an armed standby says on its socket.
ARMED = b"a"

#: (pid, our end of its socket) of the standby forked by this process; None once handed over or dropped.
_standby: tuple[int, _socket.socket] | None = None


def start() -> None:
    """Fork the standby guard of this process (the early server), first thing."""
    global _standby
    ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
    server = os.getpid()
    try:
        pid = os.fork()
    except OSError:
        ours.close()
        theirs.close()
        return
    if pid == 0:
        ours.close()
        _stand_by(theirs, server)  # never returns
    theirs.close()
    _standby = (pid, ours)


def take() -> tuple[int, _socket.socket] | None:
    """This process's standby, now the caller's to hand a pipe to (``guard.protect``), or None."""
    global _standby
    standby, _standby = _standby, None
    return standby


def _stand_by(sock: _socket.socket, server: int) -> None:
    """In the standby: arm, say so, wait for the pipe, then be ``server``'s guard."""
    try:
        import ctypes

        # A standby whose server ended has nothing to guard (as a guard's own tie).
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != server:
            return
        from debugdash.agent import process_tree

        process_tree.release_everything_but(sock.fileno())
        sock.sendall(ARMED)
        pipe = _receive_fd(sock)
        sock.close()
        if pipe is not None:
            process_tree.watch(pipe, server)
    except BaseException:  # noqa: BLE001  whatever happened, the server sees end of file and forks a guard
        pass
    finally:
        os._exit(0)


def _receive_fd(sock: _socket.socket) -> int | None:
    """The one descriptor sent on ``sock``; None at end of file."""
    _data, ancillary, _flags, _address = sock.recvmsg(1, _socket.CMSG_SPACE(4))
    for level, kind, data in ancillary:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS and len(data) >= 4:
            return int.from_bytes(data[:4], sys.byteorder)
    return None
