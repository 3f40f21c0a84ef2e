"""Another Unix user on the same machine is not "local": it connects from
127.0.0.1 like the developer, but reaches neither the Werkzeug debugger nor the
attach relay without a grant, and cannot lock the developer out of the PIN."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.dap import DapClient
from tests.security.users import User, other_user  # noqa: F401 - the fixture
from tests.support import SIMPLE_APP, Session, console_eval, debugger_page, free_port, http, pin_cookie, write_app

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def start(tmp_path: Path):
    write_app(tmp_path, SIMPLE_APP)
    sessions: list[Session] = []

    def start(*extra: str, json_output: bool = True) -> tuple[Session, int]:
        port = free_port()
        session = Session("--app", "app", "--port", str(port), *extra, cwd=tmp_path, json_output=json_output)
        sessions.append(session)
        if json_output:
            session.wait_event("ready", timeout=60)
        return session, port

    yield start
    for session in sessions:
        session.close()


def _pin(session: Session) -> str:
    return json.loads(session.cli("status", "--json").stdout)["pin"]


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> list:
    status, body, _ = http(port, path, headers=headers)
    return [status, body]


def _probe_debugger(port: int, secret: str) -> dict:
    """What another user gets from everything the debugger serves, and 12 PIN guesses."""
    boom = _get(port, "/boom")
    console = _get(port, "/console")
    resource = _get(port, "/?__debugger__=yes&cmd=resource&f=debugger.js")
    guesses = [_get(port, f"/?__debugger__=yes&cmd=pinauth&pin=000-000-{n:03d}&s={secret}")[1] for n in range(12)]
    return {"boom": boom, "console": console, "resource": resource, "guesses": guesses}


def test_another_user_on_loopback_gets_the_plain_app_and_cannot_burn_the_pin(start, other_user: User) -> None:
    session, port = start()
    status, body, _ = http(port, "/boom")
    page = debugger_page(body)
    assert status == 500 and page is not None, "the developer (same user) still gets the debugger"
    secret, frame = page

    seen = other_user.run(_probe_debugger, port, secret)
    assert seen["boom"][0] == 500 and debugger_page(seen["boom"][1]) is None, "a plain 500, no traceback page"
    assert seen["console"][0] == 404, "/console is the app's own 404"
    assert seen["resource"] == [200, "hello"], "debugger resources are the app's own page"
    assert all(body == "hello" for body in seen["guesses"]), "no PIN check answers another user"

    refused = session.wait_event("access_refused", lambda e: e["address"] == "127.0.0.1" and e["what"] == "debugger")
    assert refused["uid"] == other_user.uid

    cookie = pin_cookie(port, secret, _pin(session))
    assert cookie is not None, "the developer can still unlock the console afterwards"
    assert "42" in console_eval(port, secret, frame, cookie, "6*7")[1]


def test_another_user_with_a_grant_reaches_the_debugger(start, other_user: User) -> None:
    session, port = start()
    assert session.cli("allow", "127.0.0.1", "--what", "debugger").returncode == 0
    status, body = other_user.run(_get, port, "/boom")
    assert status == 500 and debugger_page(body) is not None


def test_the_refusal_names_the_other_user_in_text_mode(start, other_user: User) -> None:
    session, port = start(json_output=False)
    from tests.support import wait_for

    wait_for(lambda: any("Running on" in line or "ready" in line for line in session.stdout_lines), timeout=60, what="ready")
    wait_for(lambda: _answers(port), timeout=60, what="the server answers")
    other_user.run(_get, port, "/console")
    line = wait_for(
        lambda: next((line for line in session.stdout_lines if "refused" in line), None), timeout=15, what="refusal line"
    )
    assert f"127.0.0.1, uid {other_user.uid}" in line


def _answers(port: int) -> bool:
    try:
        return http(port, "/")[0] == 200
    except OSError:
        return False


def _dap_initialize(attach_port: int) -> dict:
    """Connect to the attach port and send `initialize`; what came back."""
    try:
        with DapClient.connect("127.0.0.1", attach_port) as dap:
            return {"answered": bool(dap.initialize(timeout=15))}
    except (OSError, ConnectionError, EOFError) as e:
        return {"answered": False, "error": type(e).__name__}


def _closed_without_a_byte(attach_port: int) -> bool:
    with socket.create_connection(("127.0.0.1", attach_port), timeout=10) as s:
        s.settimeout(10)
        try:
            return s.recv(1) == b""
        except ConnectionResetError:
            return True


def test_another_user_is_refused_by_the_attach_relay_unless_granted(start, other_user: User) -> None:
    attach_port = free_port()
    session, _ = start("--attach", "--attach-port", str(attach_port))
    session.wait_event("notice", lambda e: "debugpy listening" in e["message"], timeout=60)

    assert other_user.run(_closed_without_a_byte, attach_port), "dropped before a single byte"
    refused = session.wait_event("access_refused", lambda e: e["what"] == "attach")
    assert (refused["address"], refused["uid"]) == ("127.0.0.1", other_user.uid)
    client = session.wait_event("attach_client", lambda e: e["state"] == "refused")
    assert client["peer"] == "127.0.0.1"

    assert _dap_initialize(attach_port)["answered"], "the developer (same user) is still local"

    assert session.cli("allow", "127.0.0.1", "--what", "attach").returncode == 0
    assert other_user.run(_dap_initialize, attach_port)["answered"], "a grant lets the other user in"


# --- the debug adapter has no door of its own ------------------------------------


def _listening_ports(session: Session, internal_port: int) -> set[int]:
    """Every TCP port the session's processes listen on, and the debug adapter's,
    wherever it runs (debugpy's own adapter leaves the server's process tree)."""
    import psutil

    pids = {p.pid for p in session.tree()}
    for proc in psutil.process_iter(["cmdline"]):
        args = proc.info.get("cmdline") or []
        if any("debugpy" in a for a in args) and str(internal_port) in args:
            pids.add(proc.pid)
    return {
        c.laddr.port
        for c in psutil.net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN and c.pid in pids
    }


def _dap_answer(port: int, source: str) -> str | None:
    """Send a DAP `initialize` to ``port`` from ``source``; the command answered, if any."""
    try:
        with DapClient.connect("127.0.0.1", port, source_address=(source, 0), timeout=5) as dap:
            dap.initialize(timeout=3)
            return "initialize"
    except Exception:  # noqa: BLE001 - refused, closed, timed out, or not DAP at all
        return None


def _dap_answers(ports: list[int], source: str) -> dict[str, str | None]:
    return {str(port): _dap_answer(port, source) for port in ports}


def test_no_port_of_the_session_lets_another_user_or_address_reach_the_debugger(start, other_user: User) -> None:
    attach_port = free_port()
    session, _ = start("--attach", "--attach-port", str(attach_port))
    session.wait_event("attach_listening", timeout=60)
    session.wait_event("notice", lambda e: "debugpy listening" in e["message"], timeout=60)
    internal = json.loads(session.cli("status", "--json").stdout)["attach"]["internal_port"]
    ports = sorted(_listening_ports(session, internal))
    assert attach_port in ports and len(ports) >= 2, ports

    assert _dap_answers(ports, "127.0.0.3") == {str(p): None for p in ports}, "127.0.0.3 is answered nowhere"
    assert other_user.run(_dap_answers, ports, "127.0.0.1") == {str(p): None for p in ports}, "nor is another user"
    assert _dap_answer(attach_port, "127.0.0.1") == "initialize", "the developer still is, through the attach port"
