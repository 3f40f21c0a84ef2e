"""Process trees we own: ending them completely, and finding who holds a port.

The server runs in a session (and process group) of its own, so one signal
reaches the reloader parent, the worker and anything they started. The server
is a child subreaper (see ``debugdash.agent.guard``), so children that left the
group or the session (a start_new_session child, a double-forked daemon) are
still below it: psutil finds them, and we end them by pid, and only them.
debugdash itself is a subreaper too (``become_subreaper``): what is orphaned
when a server ends comes to us, not init, and is ended when we stop.
"""

from __future__ import annotations

import errno
import os
import sys
import signal
import socket
import time

import psutil

from debugdash.core.errors import UserInputError

#: How long the tree gets to exit on SIGTERM before SIGKILL.
GRACE_SECONDS = 1.0


_PR_SET_CHILD_SUBREAPER = 36
_subreaper = False


def become_subreaper() -> bool:
    """Make this process the subreaper of its descendants (Linux); False where unsupported.

    Process-wide, so for the command line only: an embedding program decides for itself.
    """
    global _subreaper
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        _subreaper = ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        _subreaper = False
    return _subreaper


def reap_adopted(own: set[int]) -> set[int]:
    """Reap exited orphans that were re-parented to us; returns those of ``own`` still our children.

    ``own`` are the children someone else (asyncio) waits for: never touched.
    Does nothing unless this process is a subreaper.
    """
    if not _subreaper:
        return own
    try:
        children = psutil.Process().children()
    except psutil.Error:
        return own
    for child in children:
        if child.pid in own:
            continue
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                os.waitpid(child.pid, os.WNOHANG)
        except (psutil.Error, ChildProcessError):
            pass
    return own & {child.pid for child in children}


def end_adopted(own: set[int], grace: float = 0.5) -> None:
    """End the orphans re-parented to us and their trees: every child but ``own`` (the servers).

    Does nothing unless this process is a subreaper (else its other children are
    not orphans of ours but, say, a test runner's).
    """
    if not _subreaper:
        return
    try:
        children = [c for c in psutil.Process().children() if c.pid not in own]
    except psutil.Error:
        return
    procs = _alive([p for c in children for p in (c, *members(c.pid))])
    for proc in procs:
        _send(proc, signal.SIGKILL)
    _wait(procs, grace)
    for child in children:
        try:
            os.waitpid(child.pid, os.WNOHANG)
        except ChildProcessError:
            pass


def end_descendants(grace: float = 1.0) -> None:
    """The last act of a stopping debugdash: end whatever is still below it, adopted orphans included."""
    procs = descendants(os.getpid())
    for proc in procs:
        _send(proc, signal.SIGKILL)
    # Polled, not waited for: asyncio may still wait for a server of ours, and
    # zombies hold nothing; they go when we exit.
    _wait(procs, grace)


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def tree_pids(pid: int) -> list[int]:
    """``pid`` and its descendants, as far as they can be listed."""
    try:
        return [pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))]
    except psutil.Error:
        return [pid]


def kill_tree(pid: int, known: list[psutil.Process] | None = None, grace: float = GRACE_SECONDS) -> None:
    """End the process group led by ``pid`` and every descendant seen, SIGTERM then SIGKILL.

    Blocks for at most about ``grace`` seconds. Safe to call when all are gone.
    For use where nothing else waits for ``pid`` (psutil reaps it if it is our child).
    """
    procs = members(pid, known)
    try:
        procs.insert(0, psutil.Process(pid))
    except psutil.Error:
        pass
    signal_tree(pid, procs, signal.SIGTERM)
    finish(pid, procs, grace)


def members(pid: int, known: list[psutil.Process] | None = None) -> list[psutil.Process]:
    """The live descendants of ``pid``, plus those seen earlier that still run (not ``pid`` itself)."""
    return [p for p in _alive([*(known or []), *descendants(pid)]) if p.pid != pid]


def signal_tree(pgid: int, procs: list[psutil.Process], sig: int) -> None:
    """Send ``sig`` to the process group ``pgid`` and to each of ``procs`` (some may have left the group)."""
    _signal_group(pgid, sig)
    for proc in procs:
        _send(proc, sig)


def finish(pgid: int, procs: list[psutil.Process], grace: float = GRACE_SECONDS) -> None:
    """Wait up to ``grace`` for ``procs`` to exit; SIGKILL the group and whoever is left."""
    alive = _wait(procs, grace)
    _signal_group(pgid, signal.SIGKILL)
    if alive:
        for proc in alive:
            _send(proc, signal.SIGKILL)
        _wait(alive, 1.0)


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    seen: dict[int, psutil.Process] = {}
    for proc in procs:
        if _running(proc):
            seen[proc.pid] = proc
    return list(seen.values())


def _running(proc: psutil.Process) -> bool:
    """Alive and not a zombie: an orphan's zombie may never be reaped where pid 1
    does not reap, yet it holds nothing and runs nothing."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE  # is_running guards pid reuse
    except psutil.Error:
        return False


def _wait(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until every one of ``procs`` has exited; return those still running at ``timeout``."""
    deadline = time.monotonic() + timeout
    alive = _alive(procs)
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = [p for p in alive if _running(p)]
    return alive


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _send(proc: psutil.Process, sig: int) -> None:
    try:
        if proc.is_running():
            proc.send_signal(sig)
    except psutil.Error:
        pass


def check_port_free(host: str, port: int, flag: str = "--port") -> None:
    """Raise UserInputError naming the holder when ``host:port`` cannot be bound."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # Same option the Werkzeug server uses, so a port in TIME_WAIT counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise UserInputError(f"port {port} is in use by {port_holder(port)}; stop it or choose another with {flag}") from None
            if e.errno == errno.EADDRNOTAVAIL:
                raise UserInputError(f"--host {host} is not an address of this machine; use 127.0.0.1 or 0.0.0.0") from None
            if e.errno == errno.EACCES:
                raise UserInputError(f"port {port} needs special privileges; choose one above 1023 with {flag}") from None
            raise


def port_holder(port: int) -> str:
    """'pid 123 (python -m http.server)' for the process listening on ``port``, if it can be found."""
    try:
        connections = psutil.net_connections(kind="inet")
    except (psutil.Error, OSError):
        connections = []
    for conn in connections:
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
            try:
                command = " ".join(psutil.Process(conn.pid).cmdline()) or psutil.Process(conn.pid).name()
            except psutil.Error:
                command = "?"
            if len(command) > 80:
                command = command[:77] + "..."
            return f"pid {conn.pid} ({command})"
    return "another program"


def wait_port_free(host: str, port: int, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            check_port_free(host, port)
            return True
        except UserInputError:
            time.sleep(0.05)
    return False
