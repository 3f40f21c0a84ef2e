"""Who can reach the console (issue 13): only the session's own user, through the
control socket. Another Unix user is refused there; the console opens no port and
adds no HTTP route."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from debugdash.protocol.console import Eval
from debugdash.protocol.control import encode
from tests.e2e.test_console import fail, start
from tests.security.users import User, other_user  # noqa: F401 - the fixture
from tests.support import http


@pytest.fixture
def reachable_runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A runtime directory in /tmp (whose ancestors anyone may traverse), 0700 as debugdash requires."""
    base = Path(tempfile.mkdtemp(prefix="dd-console-", dir="/tmp"))
    monkeypatch.setenv("DEBUGDASH_RUNTIME_DIR", str(base))
    yield base
    shutil.rmtree(base, ignore_errors=True)


def _ask_eval(path: str, occurrence: str) -> dict:
    """As the other user: connect to the control socket and ask for an evaluation."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(20)
            s.connect(path)
            s.sendall(encode(Eval(occurrence=occurrence, code="intruder = 1")))
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    except PermissionError as e:
        return {"refused": "connect", "error": str(e)}
    except (BrokenPipeError, ConnectionResetError):
        data = b""  # closed before the request was even read
    return {"refused": "answer" if not data else "", "answer": data.decode(errors="replace")}


def test_another_user_cannot_evaluate(tmp_path: Path, session_factory, reachable_runtime: Path, other_user: User) -> None:
    session, port = start(session_factory, tmp_path, "--no-reload")
    occurrence = fail(session, port)["occurrence"]
    control = str(reachable_runtime / f"{port}.sock")

    # The socket sits in a 0700 directory of the session's user.
    assert other_user.run(_ask_eval, control, occurrence)["refused"] == "connect"
    # Even with the directory and the socket opened up, the kernel names the peer:
    # the session closes the connection without an answer.
    os.chmod(reachable_runtime, 0o711)
    os.chmod(control, 0o666)
    assert other_user.run(_ask_eval, control, occurrence) == {"refused": "answer", "answer": ""}
    os.chmod(reachable_runtime, 0o700)  # the CLI insists on it

    # Nothing ran: the frame's console never saw the name, and no evaluation was recorded.
    check = session.cli("eval", occurrence, "--", "'intruder' in dir()")
    assert check.stdout == "False\n", check.stderr
    assert [e["user"] for e in session.named("evaluated")] == [_me()]


def test_the_console_opens_no_port_and_no_route(tmp_path: Path, session_factory) -> None:
    session, port = start(session_factory, tmp_path, "--no-reload")
    before = _listening(session)
    # (Werkzeug's own /console is the debugger's, behind its gate, as before.)
    probes = ("/console", "/__debugdash__/eval", "/eval", "/orders/eval")
    answered = {path: http(port, path)[0] for path in probes}
    occurrence = fail(session, port)["occurrence"]
    assert session.cli("eval", occurrence, "--", "order['total']").stdout == "42\n"
    assert session.cli("eval", occurrence, "--", "x = 1").returncode == 0
    assert _listening(session) == before == {("127.0.0.1", port)}
    assert {path: http(port, path)[0] for path in probes} == answered
    assert answered["/__debugdash__/eval"] == answered["/eval"] == 404


def _listening(session) -> set[tuple[str, int]]:
    """The TCP ports every process of the session (debugdash and the server tree) listens on."""
    found = set()
    for proc in session.tree():
        try:
            connections = proc.net_connections(kind="inet")
        except psutil.Error:
            continue
        found |= {(c.laddr.ip, c.laddr.port) for c in connections if c.status == psutil.CONN_LISTEN}
    return found


def _me() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name
