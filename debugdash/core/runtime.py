"""Where a session keeps its sockets: a 0700 directory in the user's runtime dir.

Each running session has ``<base>/<port>.sock`` (its control socket, for
``debugdash status/allow/revoke/...``) and a private directory
``<base>/<port>-XXXX`` holding the agent socket, the import path handed to the
server, and a file naming the session's process. A session that was SIGKILLed
leaves both behind; the next start sweeps them (``sweep_stale``).
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import stat
import tempfile
import time
from pathlib import Path

import psutil

from debugdash.core.errors import UserInputError

RUNTIME_DIR_ENV = "DEBUGDASH_RUNTIME_DIR"
#: In a session directory: "<pid> <create time>" of the debugdash that owns it.
OWNER_FILE = "owner"
#: A session directory without an owner file may be one being created right now.
UNOWNED_GRACE = 60.0


def runtime_base() -> Path:
    """The per-user directory for session sockets, created 0700 if needed.

    A directory named by DEBUGDASH_RUNTIME_DIR must exist already: a typo there
    should not quietly create a new tree of directories.
    """
    given = os.environ.get(RUNTIME_DIR_ENV)
    if given:
        base = Path(given)
        try:
            base.stat()
        except PermissionError:
            # Another user's directory: theirs, not ours to look into.
            raise UserInputError(f"{RUNTIME_DIR_ENV}={given} is not yours to use; point it at a directory of yours (mode 0700) or unset it") from None
        except OSError:
            pass  # missing: said just below
        if not base.exists():
            raise UserInputError(f"{RUNTIME_DIR_ENV}={given}: no such directory; create it (mode 0700) or unset the variable")
        if not base.is_dir():
            raise UserInputError(f"{RUNTIME_DIR_ENV}={given} is not a directory; point it at a directory of yours (mode 0700)")
    elif os.environ.get("XDG_RUNTIME_DIR") and Path(os.environ["XDG_RUNTIME_DIR"]).is_dir():
        base = Path(os.environ["XDG_RUNTIME_DIR"]) / "debugdash"
    else:
        base = Path(tempfile.gettempdir()) / f"debugdash-{os.getuid()}"
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = base.lstat()
    except OSError as e:
        raise UserInputError(f"cannot use {base} for session sockets ({e.strerror}); set {RUNTIME_DIR_ENV} to a directory of yours") from None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
        raise UserInputError(
            f"{base} must be a directory owned by you with mode 0700; remove it or set {RUNTIME_DIR_ENV}"
        )
    return base


def control_socket_path(base: Path, port: int) -> Path:
    return base / f"{port}.sock"


def session_sockets(base: Path) -> dict[int, Path]:
    """Control sockets present in ``base``, by port (some may be stale)."""
    found: dict[int, Path] = {}
    for path in base.glob("*.sock"):
        if path.stem.isdigit():
            found[int(path.stem)] = path
    return found


def new_session_dir(base: Path, port: int) -> Path:
    """A fresh private directory for one session, marked as ours."""
    path = Path(tempfile.mkdtemp(prefix=f"{port}-", dir=base))
    me = psutil.Process()
    (path / OWNER_FILE).write_text(f"{me.pid} {me.create_time()}\n")
    return path


def sweep_stale(base: Path, *, now: float | None = None) -> list[Path]:
    """Remove what dead sessions of this user left in ``base``; returns what was removed.

    Only entries owned by this user, and only when their session is provably
    gone: a session directory whose owner process no longer runs (pid and start
    time, so a reused pid is not mistaken for it), a control socket that nobody
    listens on and no live session directory claims.
    """
    now = time.time() if now is None else now
    removed: list[Path] = []
    live_ports: set[str] = set()
    for entry in sorted(base.iterdir()):
        port, dash, _ = entry.name.partition("-")
        if not (dash and port.isdigit()) or not _mine(entry, stat.S_ISDIR):
            continue
        if _session_alive(entry, now):
            live_ports.add(port)
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    for port_number, path in session_sockets(base).items():
        if str(port_number) in live_ports or not _mine(path, stat.S_ISSOCK):
            continue
        if _nobody_listens(path):
            try:
                path.unlink()
                removed.append(path)
            except FileNotFoundError:
                pass
    return removed


def _mine(path: Path, kind) -> bool:
    try:
        info = path.lstat()
    except OSError:
        return False
    return kind(info.st_mode) and info.st_uid == os.getuid()


def _session_alive(directory: Path, now: float) -> bool:
    try:
        pid_text, created_text = (directory / OWNER_FILE).read_text().split()
        pid, created = int(pid_text), float(created_text)
    except FileNotFoundError:
        try:
            return now - directory.lstat().st_mtime < UNOWNED_GRACE
        except OSError:
            return False
    except (OSError, ValueError):
        return True  # unreadable or odd: not provably dead, leave it
    try:
        return abs(psutil.Process(pid).create_time() - created) < 0.01
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True


def _nobody_listens(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        try:
            s.connect(str(path))
        except OSError as e:
            return e.errno == errno.ECONNREFUSED
    return False
