"""Refused debugger requests as an inbox: by address and by untrusted Host name (issue 12, point 4).

The dashboard lists the rows (its own tests); here the session's side: the
refusals are reported with what the rows need, the inbox folds them, a grant
lets the address in, trusting a Host name lets the next request through.
"""

from __future__ import annotations

from debugdash.core.state import SessionState
from debugdash.protocol.events import AccessRefused
from tests.requests.reqkit import send, start


def _is_console(body: str) -> bool:
    return "Console" in body and "__debugger__" in body


def test_a_refused_address_is_reported_and_a_grant_lets_it_in(session_factory, tmp_path) -> None:
    session, port = start(session_factory, tmp_path)

    status, _ = send(port, "/console", source="127.0.0.3")
    assert status == 404
    refused = session.wait_event("access_refused", lambda e: e["address"] == "127.0.0.3")
    assert refused["what"] == "debugger" and refused["detail"] == "/console" and refused["host"] == ""

    granted = session.cli("allow", refused["address"], "--for", "5m")
    assert granted.returncode == 0, granted.stderr
    status, body = send(port, "/console", source="127.0.0.3")
    assert status == 200 and _is_console(body)


def test_an_untrusted_host_name_is_reported_and_trusting_it_lets_the_next_one_through(session_factory, tmp_path) -> None:
    session, port = start(session_factory, tmp_path)
    host = {"Host": f"myhost.test:{port}"}

    status, body = send(port, "/console", headers=host)
    assert status == 400 and not _is_console(body)
    refused = session.wait_event("access_refused", lambda e: e["host"] == "myhost.test")
    assert refused["address"] == "127.0.0.1" and refused["detail"] == "/console"

    trusted = session.cli("trust-host", refused["host"])
    assert trusted.returncode == 0, trusted.stderr
    assert "myhost.test" in trusted.stdout

    def through() -> bool:
        status, body = send(port, "/console", headers=host)
        return status == 200 and _is_console(body)

    from tests.support import wait_for

    wait_for(through, what="the console served for Host myhost.test")
    bad = session.cli("trust-host", "my host")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "host name" in bad.stderr


def test_the_inbox_folds_refusals_into_rows_with_counts_newest_first() -> None:
    state = SessionState()
    state.apply_all(
        [
            AccessRefused(time=10.0, address="127.0.0.3", what="debugger", detail="/console"),
            AccessRefused(time=11.0, address="127.0.0.1", what="debugger", detail="/console", host="myhost.test:5000"),
            AccessRefused(time=12.0, address="127.0.0.3", what="debugger", detail="/console"),
            AccessRefused(time=13.0, address="127.0.0.4", what="attach", detail="connection"),
        ]
    )
    rows = state.inbox.rows()
    assert [(r.address, r.what, r.host, r.count, r.last) for r in rows] == [
        ("127.0.0.4", "attach", "", 1, 13.0),
        ("127.0.0.3", "debugger", "", 2, 12.0),
        ("127.0.0.1", "debugger", "myhost.test:5000", 1, 11.0),
    ]
    assert [r.by_host for r in rows] == [False, False, True]
