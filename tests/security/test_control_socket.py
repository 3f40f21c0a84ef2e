"""The control socket against a real session, spoken to raw: whatever arrives
gets an answer (never a traceback in the session's terminal), and types are
strict — `"state": "off"` turns a switch off, anything but true/false/"on"/"off"
is refused rather than read as truthy."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from debugdash.core.runtime import control_socket_path, runtime_base
from tests.support import SIMPLE_APP, Session, free_port, write_app


@pytest.fixture
def session(tmp_path: Path):
    write_app(tmp_path, SIMPLE_APP)
    port = free_port()
    running = Session("--app", "app", "--port", str(port), "--no-reload", cwd=tmp_path)
    running.port = port  # type: ignore[attr-defined]
    try:
        running.wait_event("ready")
        yield running
    finally:
        running.close()
    assert b"Traceback" not in running.stderr, running.stderr.decode(errors="replace")


def _raw(session: Session, data: bytes) -> dict[str, Any]:
    """Send ``data`` as it is and read the one-line answer."""
    path = control_socket_path(runtime_base(), session.port)  # type: ignore[attr-defined]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(str(path))
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert answer.endswith(b"\n") and answer.count(b"\n") == 1, answer[:300]
    return json.loads(answer)


def _ask(session: Session, request: Any) -> dict[str, Any]:
    return _raw(session, json.dumps(request).encode() + b"\n")


def _debugger(session: Session) -> bool:
    answer = _ask(session, {"cmd": "status"})
    assert answer["ok"], answer
    return answer["result"]["toggles"]["debugger"]


@pytest.mark.parametrize(
    "data, message",
    [
        (b'{"cmd": "status", "pad": "' + b"x" * 100_000 + b'"}\n', "longer than 64 KiB"),
        (b"x" * 100_000, "longer than 64 KiB"),
        (b'{"cmd": "status"\n', "not a line of JSON"),
        (b"\xff\xfe{}\n", "not a line of JSON"),
        (b"[1, 2]\n", "a JSON object is expected"),
        (b"null\n", "a JSON object is expected"),
        (b"{}\n", "'cmd' must be a string"),
        (b'{"cmd": ["status"]}\n', "'cmd' must be a string"),
        (b'{"cmd": "allow", "address": 127}\n', "'address' must be a string"),
        (b'{"cmd": "allow", "address": "127.0.0.2", "ttl": NaN}\n', "'ttl' must be a duration"),
        (b'{"cmd": "allow", "address": "127.0.0.2", "wide": "yes"}\n', "'wide' must be true or false"),
        (b'{"cmd": "revoke", "all": 1}\n', "'all' must be true or false"),
        (b'{"cmd": "toggle", "name": null}\n', "'name' must be a string"),
    ],
    ids=["100KB-json", "100KB-no-newline", "truncated", "not-utf8", "array", "null", "no-cmd", "cmd-list",
         "address-int", "ttl-nan", "wide-str", "all-int", "name-null"],
)
def test_bad_requests_get_an_error_answer_and_the_session_goes_on(session: Session, data: bytes, message: str) -> None:
    answer = _raw(session, data)
    assert answer["ok"] is False
    assert message in answer["error"]
    assert _ask(session, {"cmd": "status"})["ok"] is True
    assert session.proc.poll() is None


def test_toggle_state_is_read_strictly(session: Session) -> None:
    assert _debugger(session) is True
    assert _ask(session, {"cmd": "toggle", "name": "debugger", "state": "off"}) == {"ok": True, "result": {"name": "debugger", "on": False}}
    assert _debugger(session) is False
    # Already off: "off" keeps it off (a flip would turn it on).
    assert _ask(session, {"cmd": "toggle", "name": "debugger", "state": "off"})["result"] == {"name": "debugger", "on": False}
    assert _ask(session, {"cmd": "toggle", "name": "debugger", "state": "on"})["result"] == {"name": "debugger", "on": True}
    assert _ask(session, {"cmd": "toggle", "name": "debugger", "state": False})["result"] == {"name": "debugger", "on": False}
    assert _ask(session, {"cmd": "toggle", "name": "debugger", "state": True})["result"] == {"name": "debugger", "on": True}
    # Absent (or null) flips.
    assert _ask(session, {"cmd": "toggle", "name": "debugger"})["result"] == {"name": "debugger", "on": False}
    assert _ask(session, {"cmd": "toggle", "name": "debugger", "state": None})["result"] == {"name": "debugger", "on": True}

    for state in ("false", "yes", "", 0, 1, [], {}, "OFF"):
        answer = _ask(session, {"cmd": "toggle", "name": "debugger", "state": state})
        assert answer["ok"] is False, state
        assert "'state' must be true, false, \"on\" or \"off\"" in answer["error"]
        assert _debugger(session) is True, f"{state!r} changed the switch"


def test_the_cli_turns_a_switch_off_by_name(session: Session) -> None:
    result = session.cli("toggle", "debugger", "off")
    assert result.returncode == 0 and result.stdout.strip() == "debugger off"
    result = session.cli("toggle", "debugger", "off")
    assert result.stdout.strip() == "debugger off"
    assert _debugger(session) is False
