import stat
from datetime import datetime
from pathlib import Path

import pytest

from debugdash.core.audit import AuditLog, current_user, default_path
from debugdash.protocol.clock import ManualClock
from debugdash.protocol.events import (
    AccessExpired,
    AccessGranted,
    AccessRefused,
    AccessRevoked,
    AttachClient,
    AttachListening,
    Log,
    Ready,
)

PIN = "493-712-058"


def _records(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text().splitlines()]


@pytest.fixture
def log(tmp_path):
    return AuditLog(tmp_path / "state" / "debugdash" / "audit.log")


def test_default_path_follows_xdg_state_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert default_path() == tmp_path / "xdg" / "debugdash" / "audit.log"
    assert AuditLog().path == tmp_path / "xdg" / "debugdash" / "audit.log"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/dir")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_path() == tmp_path / "home" / ".local" / "state" / "debugdash" / "audit.log"
    monkeypatch.delenv("XDG_STATE_HOME")
    assert default_path() == tmp_path / "home" / ".local" / "state" / "debugdash" / "audit.log"


def test_nothing_is_created_until_the_first_record(log):
    assert not log.path.parent.exists()
    assert not log.record(Log(stream="stdout", line="hello"))
    assert not log.path.parent.exists()


def test_every_access_event_is_one_line(log):
    when = datetime(2026, 11, 24, 6, 0, 0).timestamp()
    events = [
        AccessGranted(time=when, address="203.0.113.7/32", what=["debugger"], seconds=900, user="alice"),
        AccessGranted(time=when, address="203.0.113.7/32", what=["debugger", "attach"], seconds=3600, extended=True),
        AccessRevoked(time=when, address="203.0.113.7/32", what=["debugger", "attach"], user="bob"),
        AccessExpired(time=when, address="10.0.0.0/24", what=["attach"]),
        AccessRefused(time=when, address="127.0.0.3", what="debugger", detail="/console?__debugger__=yes"),
    ]
    assert all(log.record(e) for e in events)
    rows = _records(log.path)
    me = current_user()
    assert [row[1:5] for row in rows] == [
        ["alice", "grant", "203.0.113.7/32", "debugger"],
        [me, "extend", "203.0.113.7/32", "debugger,attach"],
        ["bob", "revoke", "203.0.113.7/32", "debugger,attach"],
        [me, "expire", "10.0.0.0/24", "attach"],
        [me, "refuse", "127.0.0.3", "debugger"],
    ]
    assert rows[0][5] == "ttl=900s"
    assert rows[4][5] == "/console?__debugger__=yes"
    assert all(len(row) == 6 for row in rows)
    assert datetime.fromisoformat(rows[0][0]).timestamp() == when


def test_refused_attach_is_recorded_once(tmp_path):
    clock = ManualClock()
    log = AuditLog(tmp_path / "audit.log", clock=clock)
    # The relay publishes both events for one refused connection, with the same time.
    refused = AttachClient(time=100.0, state="refused", peer="127.0.0.3")
    assert log.record(refused)
    assert not log.record(AccessRefused(time=100.0, address="127.0.0.3", what="attach"))
    clock.advance(61)  # past the minute in which repeats are counted
    assert log.record(AttachClient(time=161.0, state="refused", peer="127.0.0.3"))
    assert not log.record(AccessRefused(time=161.0, address="127.0.0.3", what="attach", detail="x"))
    rows = _records(log.path)
    assert [(r[2], r[3], r[4]) for r in rows] == [("refuse", "127.0.0.3", "attach")] * 2


def test_other_events_are_ignored(log):
    assert not log.record(AttachClient(state="connected", peer="127.0.0.2"))
    assert not log.record(AttachClient(state="disconnected", peer="127.0.0.2"))
    assert not log.record(AttachListening(host="127.0.0.1", port=5678))
    assert not log.path.exists()


def test_the_pin_never_reaches_the_file(log):
    ready = Ready(url="http://127.0.0.1:5000", pid=1, host="127.0.0.1", port=5000, debug=True,
                  debugger=True, pin=PIN, reloader=True)
    assert not log.record(ready)
    log.record(Log(stream="stderr", line=f" * Debugger PIN: {PIN}"))
    log.record(AccessGranted(address="127.0.0.2/32", what=["debugger"], seconds=60))
    log.record(AccessRefused(address="127.0.0.3", what="debugger", detail="/?__debugger__=yes&cmd=pinauth"))
    content = log.path.read_text()
    assert PIN not in content and PIN.replace("-", "") not in content
    assert len(content.splitlines()) == 2


def test_private_and_append_only(log):
    log.record(AccessExpired(address="127.0.0.2/32", what=["debugger"]))
    assert stat.S_IMODE(log.path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    # A second log object (another debugdash run) appends; nothing is truncated.
    AuditLog(log.path).record(AccessExpired(address="127.0.0.3/32", what=["attach"]))
    assert [r[3] for r in _records(log.path)] == ["127.0.0.2/32", "127.0.0.3/32"]


def test_lax_permissions_are_tightened(log):
    log.path.parent.mkdir(parents=True, mode=0o755)
    log.path.parent.chmod(0o755)
    log.path.write_text("")
    log.path.chmod(0o644)
    log.record(AccessExpired(address="127.0.0.2/32", what=["debugger"]))
    assert stat.S_IMODE(log.path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600


def test_hostile_detail_stays_on_one_line(log):
    detail = "/a\tb\nc\r\x1b[2J\x1b]0;pwned\x07" + "x" * 5000
    log.record(AccessRefused(address="127.0.0.3", what="debugger", detail=detail))
    content = log.path.read_text()
    assert content.count("\n") == 1
    assert "\x1b" not in content
    [row] = _records(log.path)
    assert len(row) == 6 and len(row[5]) < 400


def test_a_symlinked_log_is_not_followed(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("")
    link = tmp_path / "dir" / "audit.log"
    link.parent.mkdir()
    link.symlink_to(target)
    log = AuditLog(link)
    assert not log.record(AccessExpired(address="127.0.0.2/32", what=["debugger"]))
    assert isinstance(log.error, OSError)
    assert target.read_text() == ""


def test_unwritable_location_reports_instead_of_raising(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    log = AuditLog(blocker / "audit.log")
    assert not log.record(AccessExpired(address="127.0.0.2/32", what=["debugger"]))
    assert log.error is not None
