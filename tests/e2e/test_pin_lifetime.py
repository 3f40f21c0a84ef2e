"""One debugger PIN per session: a browser that unlocked the debugger stays
unlocked across reloads and restarts, as under `flask run`; the PIN and its
cookie change when a grant ends or when the user asks for a new one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import SIMPLE_APP, Session, console_eval, debugger_page, free_port, http, pin_cookie, write_app


@pytest.fixture
def session(tmp_path: Path):
    write_app(tmp_path, SIMPLE_APP)
    port = free_port()
    session = Session("--app", "app", "--port", str(port), cwd=tmp_path)
    session.port = port  # type: ignore[attr-defined]
    session.wait_event("ready")
    yield session
    session.close()


def _unlocked(port: int, cookie: str, source: str = "127.0.0.1") -> bool:
    secret, frame = debugger_page(http(port, "/boom", source=source)[1])
    status, body = console_eval(port, secret, frame, cookie, "6*7", source=source)
    return status == 200 and "42" in body


def test_the_pin_and_the_browsers_unlock_survive_a_reload_and_a_restart(session, tmp_path: Path) -> None:
    port = session.port
    pin = session.pin()
    secret, _ = debugger_page(http(port, "/boom")[1])
    cookie = pin_cookie(port, secret, pin)
    assert cookie and _unlocked(port, cookie)

    mark = session.mark()
    app = tmp_path / "app.py"
    app.write_text(app.read_text().replace('"hello"', '"hello again"'))
    session.wait_event("reload", since=mark, timeout=30)
    session.wait_event("ready", since=mark, timeout=30)
    assert session.pin() == pin
    assert _unlocked(port, cookie), "no PIN to type again after saving a file"

    mark = session.mark()
    assert session.cli("restart").returncode == 0
    session.wait_event("ready", since=mark, timeout=30)
    assert session.pin() == pin and _unlocked(port, cookie)


def test_a_new_pin_on_demand_locks_every_browser_again(session) -> None:
    port = session.port
    pin = session.pin()
    secret, _ = debugger_page(http(port, "/boom")[1])
    cookie = pin_cookie(port, secret, pin)
    assert cookie and _unlocked(port, cookie)

    mark = session.mark()
    result = session.cli("new-pin")
    assert result.returncode == 0
    new = result.stdout.strip().removeprefix("debugger PIN ")
    assert new == session.pin() != pin
    gate = session.wait_event("gate", since=mark)
    assert "pin" not in gate, "the new PIN stays out of --json output too"
    assert not _unlocked(port, cookie), "the old cookie no longer unlocks the console"
    secret, _ = debugger_page(http(port, "/boom")[1])
    assert pin_cookie(port, secret, pin) is None, "the old PIN is refused"
    assert pin_cookie(port, secret, new) is not None


def test_revoking_a_grant_changes_the_pin_the_grantee_may_have_seen(session) -> None:
    port = session.port
    assert session.cli("allow", "127.0.0.2", "--for", "10m").returncode == 0
    pin = session.pin()
    secret, _ = debugger_page(http(port, "/boom", source="127.0.0.2")[1])
    cookie = pin_cookie(port, secret, pin, source="127.0.0.2")
    assert cookie and _unlocked(port, cookie, source="127.0.0.2")

    assert session.cli("revoke", "127.0.0.2").returncode == 0
    assert session.pin() != pin
    assert session.cli("allow", "127.0.0.2", "--for", "10m").returncode == 0
    assert not _unlocked(port, cookie, source="127.0.0.2"), "granted again, the old cookie is worthless"
