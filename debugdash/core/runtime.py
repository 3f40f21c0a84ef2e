"""Where a session keeps its sockets: a 0700 directory in the user's runtime dir.

Each running session has ``<base>/<port>.sock`` (its control socket, for
``debugdash status/allow/revoke/...``) and a private directory holding the agent
socket and the import path handed to the server.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from debugdash.core.errors import UserInputError

RUNTIME_DIR_ENV = "DEBUGDASH_RUNTIME_DIR"


def runtime_base() -> Path:
    """The per-user directory for session sockets, created 0700 if needed."""
    given = os.environ.get(RUNTIME_DIR_ENV)
    if given:
        base = Path(given)
    elif os.environ.get("XDG_RUNTIME_DIR") and Path(os.environ["XDG_RUNTIME_DIR"]).is_dir():
        base = Path(os.environ["XDG_RUNTIME_DIR"]) / "debugdash"
    else:
        base = Path(tempfile.gettempdir()) / f"debugdash-{os.getuid()}"
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = base.lstat()
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
