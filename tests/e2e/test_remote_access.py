"""Remote debugger access through the whole stack: `debugdash allow` in another
terminal, real requests from 127.0.0.2/127.0.0.3, time moved by the test's shared clock."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from tests.support import (
    SIMPLE_APP,
    Session,
    SharedClock,
    close_all,
    console_eval,
    debugger_page,
    free_port,
    http,
    pin_cookie,
    wait_for,
    write_app,
)

FORWARDING_HEADERS = ["X-Forwarded-For", "Forwarded", "X-Real-IP", "Client-IP", "True-Client-IP"]


@pytest.fixture
def remote(tmp_path: Path):
    write_app(tmp_path, SIMPLE_APP)
    clock = SharedClock(tmp_path / "clock-offset")
    port = free_port()
    sessions: list[Session] = []

    def start(*extra: str, host: str = "127.0.0.1") -> tuple[Session, int, SharedClock]:
        session = Session(
            "--app", "app", "--port", str(port), "--host", host, "--no-reload", *extra,
            cwd=tmp_path,
            env=clock.env(),
        )
        sessions.append(session)
        session.wait_event("ready")
        return session, port, clock

    yield start
    close_all(sessions)


def _is_debugger(body: str) -> bool:
    return debugger_page(body) is not None


def test_granted_address_gets_the_debugger_until_its_deadline(remote) -> None:
    session, port, clock = remote()
    pin = session.pin()

    result = session.cli("allow", "127.0.0.2", "--for", "15m")
    assert result.returncode == 0, result.stderr
    assert "127.0.0.2/32" in result.stdout
    granted = session.wait_event("access_granted")
    assert granted["address"] == "127.0.0.2/32" and granted["seconds"] == 900

    status, body, _ = http(port, "/boom", source="127.0.0.2")
    assert status == 500 and _is_debugger(body)
    secret, frame = debugger_page(body)
    cookie = pin_cookie(port, secret, pin, source="127.0.0.2")
    assert cookie
    assert "42" in console_eval(port, secret, frame, cookie, "6*7", source="127.0.0.2")[1]

    # A peer without a grant: plain 500, and no way into the debugger.
    status, body, _ = http(port, "/boom", source="127.0.0.3")
    assert status == 500 and not _is_debugger(body) and "Traceback" not in body
    assert http(port, "/console", source="127.0.0.3")[0] == 404
    assert "42" not in console_eval(port, secret, frame, cookie, "6*7", source="127.0.0.3")[1]

    clock.advance(900 - 5)
    assert _is_debugger(http(port, "/boom", source="127.0.0.2")[1]), "still inside the 15 minutes"

    clock.advance(5)  # the deadline itself (plus the moment this test took)
    status, body, _ = http(port, "/boom", source="127.0.0.2")
    assert status == 500 and not _is_debugger(body)
    expired = session.wait_event("access_expired")
    assert expired["address"] == "127.0.0.2/32"
    # What was obtained before expiry opens nothing now.
    status, body = console_eval(port, secret, frame, cookie, "6*7", source="127.0.0.2")
    assert "42" not in body
    assert http(port, "/console", source="127.0.0.2")[0] == 404
    # This machine is unaffected.
    assert _is_debugger(http(port, "/boom")[1])


def test_a_stalled_supervisor_never_extends_access(remote) -> None:
    session, port, clock = remote("--allow", "127.0.0.2", "--ttl", "2m")
    session.wait_event("access_granted")
    assert _is_debugger(http(port, "/boom", source="127.0.0.2")[1])
    os.kill(session.proc.pid, signal.SIGSTOP)
    try:
        clock.advance(121)
        status, body, _ = http(port, "/boom", source="127.0.0.2")
        assert status == 500 and not _is_debugger(body), "the server enforces the deadline by itself"
    finally:
        os.kill(session.proc.pid, signal.SIGCONT)


@pytest.mark.parametrize("header", FORWARDING_HEADERS)
def test_forwarding_headers_naming_a_granted_address_do_not_help(remote, header: str) -> None:
    session, port, _ = remote("--allow", "127.0.0.2")
    session.wait_event("access_granted")
    value = "for=127.0.0.2" if header == "Forwarded" else "127.0.0.2"
    status, body, _ = http(port, "/boom", source="127.0.0.3", headers={header: value})
    assert status == 500 and not _is_debugger(body)
    assert http(port, "/console", source="127.0.0.3", headers={header: value})[0] == 404


def test_an_ipv4_mapped_peer_matches_its_ipv4_grant(remote) -> None:
    # Bound to :: the server sees IPv4 clients as ::ffff:a.b.c.d.
    session, port, _ = remote("--allow", "127.0.0.2", host="::")
    session.wait_event("access_granted")
    assert _is_debugger(http(port, "/boom", source="127.0.0.2")[1])
    assert not _is_debugger(http(port, "/boom", source="127.0.0.3")[1])


def test_regrant_extends_only_that_entry_and_revoke_closes_at_once(remote) -> None:
    session, port, clock = remote()
    assert session.cli("allow", "127.0.0.2", "--for", "10m").returncode == 0
    assert session.cli("allow", "127.0.0.4", "--for", "10m").returncode == 0
    clock.advance(300)
    assert session.cli("allow", "127.0.0.2", "--for", "10m").returncode == 0
    extended = session.wait_event("access_granted", lambda e: e["extended"])
    assert extended["address"] == "127.0.0.2/32"

    grants = {g["network"]: g["seconds_left"] for g in json.loads(session.cli("status", "--json").stdout)["grants"]}
    assert 590 < grants["127.0.0.2/32"] <= 600
    assert 290 < grants["127.0.0.4/32"] <= 300

    mark = session.mark()
    result = session.cli("revoke", "127.0.0.2")
    assert result.returncode == 0 and "127.0.0.2/32" in result.stdout
    session.wait_event("access_revoked", since=mark)
    assert not _is_debugger(http(port, "/boom", source="127.0.0.2")[1])
    assert _is_debugger(http(port, "/boom", source="127.0.0.4")[1])

    result = session.cli("revoke", "127.0.0.2")
    assert result.returncode == 2 and "has no access to revoke" in result.stderr
    assert session.cli("revoke", "--all").returncode == 0
    assert not _is_debugger(http(port, "/boom", source="127.0.0.4")[1])


def test_every_access_change_and_refusal_is_audited_without_the_pin(remote) -> None:
    session, port, clock = remote()
    pin = session.pin()
    session.cli("allow", "127.0.0.2", "--for", "5m")
    session.cli("allow", "127.0.0.2", "--for", "5m")
    session.cli("allow", "127.0.0.4", "--for", "5m", "--what", "both")
    session.cli("revoke", "127.0.0.4")
    http(port, "/console", source="127.0.0.3")
    session.wait_event("access_refused", lambda e: e["address"] == "127.0.0.3")
    clock.advance(301)
    session.wait_event("access_expired")

    status = json.loads(session.cli("status", "--json").stdout)
    audit = Path(status["audit_log"])
    text = wait_for(lambda: (t := audit.read_text()) and "expire" in t and t, what="expiry audited")
    lines = text.splitlines()
    assert any("grant" in line and "127.0.0.2/32" in line for line in lines)
    assert any("extend" in line and "127.0.0.2/32" in line for line in lines)
    assert any("revoke" in line and "127.0.0.4/32" in line for line in lines)
    assert any("refuse" in line and "127.0.0.3" in line for line in lines)
    assert any("expire" in line and "127.0.0.2/32" in line for line in lines)
    assert pin not in text and pin.replace("-", "") not in text
    assert oct(audit.stat().st_mode & 0o777) == oct(0o600)


def test_the_debugger_only_answers_to_advertised_host_names(remote) -> None:
    # DNS rebinding: a page on rebind.example resolving to this machine must not get a console.
    session, port, _ = remote("--trusted-host", "devbox.example")
    for name in ("127.0.0.1", "localhost", "devbox.example"):
        status, body, _ = http(port, "/console", headers={"Host": f"{name}:{port}"})
        assert status == 200 and "SECRET" in body, f"{name} is advertised"
    rebind = {"Host": f"rebind.example:{port}"}
    status, body, _ = http(port, "/console", headers=rebind)
    assert status == 400 and "SECRET" not in body
    # A traceback shown under that name offers no console, and no command runs.
    status, body, _ = http(port, "/boom", headers=rebind)
    assert status == 500 and "EVALEX = false" in body
    pin = session.pin()
    secret, frame = debugger_page(http(port, "/boom")[1])
    cookie = pin_cookie(port, secret, pin)
    assert "42" in console_eval(port, secret, frame, cookie, "6*7")[1]
    status, body, _ = http(
        port, f"/?__debugger__=yes&cmd=6*7&frm={frame}&s={secret}", headers={**rebind, "Cookie": cookie}
    )
    assert status == 400 and "42" not in body


def test_status_lists_grants_with_seconds_left(remote) -> None:
    session, port, clock = remote("--allow", "127.0.0.2", "--ttl", "20m")
    session.wait_event("access_granted")
    clock.advance(60)
    data = json.loads(session.cli("status", "--json").stdout)
    [entry] = data["grants"]
    assert entry["network"] == "127.0.0.2/32" and entry["what"] == ["debugger"]
    assert 1130 < entry["seconds_left"] <= 1140
    text = session.cli("status").stdout
    assert "127.0.0.2/32" in text and "left" in text


def test_revoke_retires_old_tracebacks_and_secrets(remote) -> None:
    session, port, clock = remote("--allow", "127.0.0.2")
    session.wait_event("access_granted")
    pin = session.pin()
    secret, frame = debugger_page(http(port, "/boom")[1])
    cookie = pin_cookie(port, secret, pin)
    assert "42" in console_eval(port, secret, frame, cookie, "6*7")[1]
    mark = session.mark()
    session.cli("revoke", "127.0.0.2")
    session.wait_event("access_revoked", since=mark)
    # Even on this machine, a traceback from before the revoke no longer runs code.
    wait_for(lambda: "42" not in console_eval(port, secret, frame, cookie, "6*7")[1], what="old secret retired")
    fresh_secret, fresh_frame = debugger_page(http(port, "/boom")[1])
    assert fresh_secret != secret
    # The PIN changed with it: the old one is refused, the new one unlocks.
    assert pin_cookie(port, fresh_secret, pin) is None
    assert "42" in console_eval(port, fresh_secret, fresh_frame, pin_cookie(port, fresh_secret, session.pin()), "6*7")[1]


def test_expiry_retires_the_secret_and_pin_cookie_a_granted_peer_obtained(remote) -> None:
    session, port, clock = remote("--allow", "127.0.0.2", "--ttl", "10m")
    session.wait_event("access_granted")
    pin = session.pin()
    secret, frame = debugger_page(http(port, "/boom", source="127.0.0.2")[1])
    cookie = pin_cookie(port, secret, pin, source="127.0.0.2")
    assert cookie and "42" in console_eval(port, secret, frame, cookie, "6*7", source="127.0.0.2")[1]

    mark = session.mark()
    clock.advance(600)
    assert session.wait_event("access_expired", since=mark)["address"] == "127.0.0.2/32"
    assert "42" not in console_eval(port, secret, frame, cookie, "6*7", source="127.0.0.2")[1]
    assert not _is_debugger(http(port, "/boom", source="127.0.0.2")[1])
    # The secret is rotated at expiry: what the peer saw opens nothing, even
    # where the debugger stays on (this machine), with the PIN cookie it got.
    wait_for(lambda: "42" not in console_eval(port, secret, frame, cookie, "6*7")[1], what="old secret retired")
    fresh_secret, fresh_frame = debugger_page(http(port, "/boom")[1])
    assert fresh_secret != secret
    # The PIN changed with it: the old one is refused, the new one unlocks.
    assert pin_cookie(port, fresh_secret, pin) is None
    assert "42" in console_eval(port, fresh_secret, fresh_frame, pin_cookie(port, fresh_secret, session.pin()), "6*7")[1]


def test_a_network_bound_server_warns_and_suggests_the_ssh_client(tmp_path: Path) -> None:
    write_app(tmp_path, SIMPLE_APP)
    port = free_port()
    session = Session(
        "--app", "app", "--port", str(port), "--host", "0.0.0.0", "--no-reload",
        cwd=tmp_path, env={"SSH_CONNECTION": "127.0.0.5 51234 127.0.0.1 22"},
    )
    try:
        session.wait_event("ready")
        warning = session.wait_event("notice", lambda e: e["level"] == "warning")
        assert "0.0.0.0" in warning["message"]
        status = json.loads(session.cli("status", "--json").stdout)
        assert status["suggested_grant"] == "127.0.0.5"
        # Reachable from the network, yet only this machine gets the debugger.
        assert not _is_debugger(http(port, "/boom", source="127.0.0.5")[1])
    finally:
        session.close()


def test_no_file_or_variable_moves_the_clock_of_a_normal_debugdash(tmp_path: Path) -> None:
    # Issue 9.5: a clock-offset file once extended a grant far beyond its maximum.
    # Without the test-only sitecustomize on PYTHONPATH, none of these variables
    # may change a deadline, in the supervisor or in the server.
    write_app(tmp_path, SIMPLE_APP)
    offset = tmp_path / "offset"
    offset.write_text("0")
    port = free_port()
    session = Session(
        "--app", "app", "--port", str(port), "--no-reload", cwd=tmp_path,
        env={"DEBUGDASH_CLOCK_OFFSET_FILE": str(offset), "DEBUGDASH_TEST_CLOCK_FILE": str(offset)},
    )
    try:
        session.wait_event("ready")
        assert session.cli("allow", "127.0.0.2", "--for", "15m").returncode == 0
        session.wait_event("access_granted")

        offset.write_text("-99998")  # would push every deadline 99,998 s away
        [entry] = json.loads(session.cli("status", "--json").stdout)["grants"]
        assert 0 < entry["seconds_left"] <= 900, "the grant was extended"

        offset.write_text("99998")  # would end the grant at once
        assert _is_debugger(http(port, "/boom", source="127.0.0.2")[1]), "the server's clock moved"
        [entry] = json.loads(session.cli("status", "--json").stdout)["grants"]
        assert 800 < entry["seconds_left"] <= 900, "the supervisor's clock moved"
        assert not session.named("access_expired")
    finally:
        session.close()
