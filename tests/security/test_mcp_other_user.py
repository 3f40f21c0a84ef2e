"""Another Unix user cannot attach `debugdash mcp` to a session: it meets the same
refusal as `debugdash status` and every other control command, and the control
socket itself stays out of its reach."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("mcp", reason="the MCP SDK is not installed; `pip install -e '.[test]'` (or '.[mcp]') brings it")

# Loaded here, before the fork: the other user cannot read this interpreter's files.
import mcp.server.mcpserver  # noqa: E402,F401
from click.testing import CliRunner  # noqa: E402

import debugdash.mcp.launch  # noqa: E402,F401
from debugdash.cli import main  # noqa: E402
from debugdash.core.control import NO_SESSION  # noqa: E402
from debugdash.core.runtime import control_socket_path  # noqa: E402
from tests.security.users import User, other_user  # noqa: E402,F401 - the fixture
from tests.support import SIMPLE_APP, free_port, write_app  # noqa: E402

pytestmark = pytest.mark.timeout(180)


def _as_command(runtime: str | None, *args: str) -> list:
    # None: the user's own runtime directory, where their sessions would be.
    result = CliRunner().invoke(main, list(args), env={"DEBUGDASH_RUNTIME_DIR": runtime, "XDG_RUNTIME_DIR": None})
    return [result.exit_code, result.output or repr(result.exception)]


def _connect(path: str) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(path)
        except OSError as e:
            return type(e).__name__
    return "connected"


def test_another_user_cannot_attach_debugdash_mcp_to_the_session(tmp_path: Path, session_factory, other_user: User) -> None:
    write_app(tmp_path, SIMPLE_APP)
    port = free_port()
    session = session_factory("--app", "app", "--port", str(port), "--no-reload")
    session.wait_event("ready")
    runtime = os.environ["DEBUGDASH_RUNTIME_DIR"]

    mcp = other_user.run(_as_command, runtime, "mcp")
    status = other_user.run(_as_command, runtime, "status")
    assert mcp[0] == 2 and mcp[1].startswith("Error: ") and mcp[1].count("\n") == 1, mcp
    assert mcp == status, "the same refusal as the other control commands"
    assert "is not yours to use" in mcp[1]

    own_base = Path(tempfile.gettempdir()) / f"debugdash-{other_user.uid}"
    try:
        assert other_user.run(_as_command, None, "mcp") == [2, f"Error: {NO_SESSION}\n"]
    finally:
        shutil.rmtree(own_base, ignore_errors=True)

    socket_path = control_socket_path(Path(runtime), port)
    assert socket_path.is_socket()
    assert other_user.run(_connect, str(socket_path)) == "PermissionError"
