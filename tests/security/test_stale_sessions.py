"""What a SIGKILLed debugdash leaves in the runtime directory is swept at the
next start: only dead sessions, and only this user's."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import psutil
import pytest

from debugdash.core.runtime import sweep_stale
from tests.support import SIMPLE_APP, Session, free_port, write_app


def _runtime() -> Path:
    return Path(os.environ["DEBUGDASH_RUNTIME_DIR"])


def _entries() -> set[str]:
    return {p.name for p in _runtime().iterdir()}


def _start(tmp_path: Path, port: int) -> Session:
    write_app(tmp_path, SIMPLE_APP)
    session = Session("--app", "app", "--port", str(port), "--no-reload", cwd=tmp_path)
    session.wait_event("ready")
    return session


def _killed_session(tmp_path: Path) -> set[str]:
    """Start a session, SIGKILL it; what it left in the runtime directory."""
    session = _start(tmp_path, free_port())
    try:
        before = _entries()
        session.signal(signal.SIGKILL)
        session.wait_exit(timeout=10)
    finally:
        session.close()
    left = _entries()
    assert left == before and left, "a SIGKILLed session leaves its socket and directory behind"
    return left


def _dead_socket(path: Path) -> None:
    """A unix socket file nobody listens on, as a killed session leaves it."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(str(path))


def test_the_next_start_sweeps_what_a_sigkilled_session_left(tmp_path: Path) -> None:
    stale = _killed_session(tmp_path)
    session = _start(tmp_path, free_port())
    try:
        now = _entries()
        assert not (stale & now), f"left over: {sorted(stale & now)}"
        assert any(name.endswith(".sock") for name in now), "the new session has its own socket"
        assert session.cli("status").returncode == 0
    finally:
        session.close()


def test_a_live_session_is_never_swept(tmp_path: Path) -> None:
    live_port = free_port()
    live = _start(tmp_path / "a", live_port)
    try:
        theirs = _entries()
        other = _start(tmp_path / "b", free_port())
        try:
            assert theirs <= _entries(), "the running session's socket and directory are kept"
            result = other.cli("status", "--port", str(live_port))
            assert result.returncode == 0, result.stderr
        finally:
            other.close()
    finally:
        live.close()


def test_dead_means_the_owner_process_is_gone_not_just_its_pid(tmp_path: Path) -> None:
    base = _runtime()
    me = psutil.Process()
    reused = base / "5001-reused"
    reused.mkdir(mode=0o700)
    # Our pid, but a start time that is not ours: a pid the kernel reused.
    (reused / "owner").write_text(f"{me.pid} {me.create_time() - 1000}\n")
    alive = base / "5002-alive"
    alive.mkdir(mode=0o700)
    (alive / "owner").write_text(f"{me.pid} {me.create_time()}\n")
    assert sweep_stale(base) == [reused]
    assert _entries() == {"5002-alive"}


def test_a_directory_without_owner_is_kept_while_it_may_be_starting(tmp_path: Path) -> None:
    base = _runtime()
    starting = base / "5003-abcd"
    starting.mkdir(mode=0o700)
    assert sweep_stale(base) == []
    old = time.time() - 3600
    os.utime(starting, (old, old))
    assert sweep_stale(base) == [starting]


def test_another_users_leftovers_are_never_touched(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give files to another uid")
    base = _runtime()
    other_uid = _unused_uid()
    theirs_dir = base / "5004-theirs"
    theirs_dir.mkdir(mode=0o700)
    (theirs_dir / "owner").write_text("999999 1.0\n")  # a dead owner
    theirs_sock = base / "5005.sock"
    _dead_socket(theirs_sock)
    mine_sock = base / "5006.sock"
    _dead_socket(mine_sock)
    for path in (theirs_dir, theirs_dir / "owner", theirs_sock):
        os.chown(path, other_uid, other_uid)
    assert sweep_stale(base) == [mine_sock]
    assert _entries() == {"5004-theirs", "5005.sock"}


def _unused_uid() -> int:
    import pwd

    taken = {user.pw_uid for user in pwd.getpwall()}
    return next(uid for uid in range(23000, 60000) if uid not in taken)
