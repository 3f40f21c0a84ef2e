"""What `debugdash mcp` reads of a session, from events replayed through the real
Supervisor's publish: the wait for a reload, error details by group id, and the
log search. No server: the events are the ones an agent would send."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from debugdash.core.audit import AuditLog
from debugdash.core.console import group_id
from debugdash.core.errors import UserInputError
from debugdash.core.settings import Settings
from debugdash.core.supervisor import Supervisor
from debugdash.protocol.clock import ManualClock
from debugdash.protocol.observe import CodingAgent
from debugdash.protocol.events import ExceptionInfo, Frame, LoadError, Ready, Reload, RequestError, Started

T0 = 1_800_000_000.0


def _supervisor(tmp_path: Path) -> Supervisor:
    settings = Settings.for_tests(app="shop", port=5000, cwd=tmp_path)
    return Supervisor(settings, clock=ManualClock(), audit=AuditLog(tmp_path / "audit.log"))


def _ready(at: float, pid: int = 11) -> Ready:
    return Ready(time=at, url="http://127.0.0.1:5000", pid=pid, host="127.0.0.1", port=5000, debug=True, debugger=True, reloader=True)


def _reload(at: float) -> Reload:
    return Reload(time=at, filename="/srv/shop/app.py", reloader="debugdash-stat")


async def test_a_reload_that_ended_after_the_agents_previous_call_answers_at_once(tmp_path: Path) -> None:
    sup = _supervisor(tmp_path)
    sup.publish([_ready(T0), _reload(T0 + 10), Started(time=T0 + 10.1, pid=12, command=[], reason="reload"), _ready(T0 + 10.3, 12)])
    outcome = await sup.views.wait_for_reload(timeout=5, since=T0 + 5)
    assert (outcome.outcome, outcome.filename) == ("ready", "/srv/shop/app.py")
    assert outcome.ready_after == pytest.approx(0.3)


async def test_without_a_reload_since_the_previous_call_it_waits_for_the_next(tmp_path: Path) -> None:
    sup = _supervisor(tmp_path)
    sup.publish([_ready(T0)])
    waiting = asyncio.ensure_future(sup.views.wait_for_reload(timeout=30, since=T0 + 5))
    await asyncio.sleep(0)
    assert not waiting.done()
    sup.publish([_reload(T0 + 20), Started(time=T0 + 20.1, pid=12, command=[], reason="reload")])
    await asyncio.sleep(0)
    assert not waiting.done(), "still loading"
    sup.publish([_ready(T0 + 20.5, 12)])
    outcome = await waiting
    assert (outcome.outcome, outcome.filename, outcome.ready_after) == ("ready", "/srv/shop/app.py", pytest.approx(0.5))


async def test_a_load_error_is_the_answer_and_the_error_page_server_is_no_fix(tmp_path: Path) -> None:
    sup = _supervisor(tmp_path)
    sup.publish([_ready(T0)])
    waiting = asyncio.ensure_future(sup.views.wait_for_reload(timeout=30))
    await asyncio.sleep(0)
    sup.publish([
        _reload(T0 + 20), Started(time=T0 + 20.1, pid=12, command=[], reason="reload"),
        LoadError(time=T0 + 20.2, message="invalid syntax (app.py, line 5)", filename="/srv/shop/app.py", lineno=5),
        _ready(T0 + 20.3, 12),
    ])
    outcome = await waiting
    assert outcome.outcome == "load_error" and "invalid syntax (app.py, line 5) (/srv/shop/app.py:5)" == outcome.message
    # Asked again after that error, the worker that serves the error page does not count as ready.
    again = await sup.views.wait_for_reload(timeout=0.01, since=T0 + 20.25)
    assert again.outcome == "timeout"


async def test_a_restart_ends_the_wait_without_a_file(tmp_path: Path) -> None:
    sup = _supervisor(tmp_path)
    sup.publish([_ready(T0), _reload(T0 + 1), _ready(T0 + 2, 12)])
    waiting = asyncio.ensure_future(sup.views.wait_for_reload(timeout=30, since=T0 + 3))
    await asyncio.sleep(0)
    assert not waiting.done()
    sup.publish([Started(time=T0 + 4, pid=13, command=[], reason="restart"), _ready(T0 + 5, 13)])
    outcome = await waiting
    assert (outcome.outcome, outcome.filename) == ("ready", "")


def _error(at: float, path: str, lineno: int) -> RequestError:
    frame = Frame(filename="/srv/shop/app.py", lineno=lineno, function="view", source="x[1]", locals={"x": "[]"})
    return RequestError(time=at, method="GET", path=path, remote_addr="127.0.0.1",
                        chain=[ExceptionInfo(type="IndexError", message="list index out of range", frames=[frame])])


def test_error_detail_is_the_newest_group_or_the_one_named(tmp_path: Path) -> None:
    sup = _supervisor(tmp_path)
    sup.publish([_error(T0, "/a", 10), _error(T0 + 1, "/b", 20), _error(T0 + 2, "/a?again", 10)])
    newest = sup.views.error_detail(None)
    assert (newest.path, newest.count) == ("/a?again", 2)
    other = next(g for g in sup.state.error_groups if g.latest.path == "/b")
    named = sup.views.error_detail(group_id(other.key))
    assert (named.path, named.count, named.chain[0].frames[0].locals) == ("/b", 1, {"x": "[]"})
    with pytest.raises(UserInputError, match="no error group 'nope'; the session has: "):
        sup.views.error_detail("nope")


def test_log_search_finds_the_newest_matching_lines_in_any_case(tmp_path: Path) -> None:
    sup = _supervisor(tmp_path)
    sup.logs.append("stderr", [b"GET / 200", b"Traceback", b"KeyError: 'total'", b"GET /x 404", b"\x1b[31mkeyerror again\x1b[0m"])
    found = sup.views.logs(tail=10, search="KEYERROR")
    assert [(line.seq, line.text) for line in found.lines] == [(3, "KeyError: 'total'"), (5, "keyerror again")]
    assert found.last_seq == 5
    assert [line.text for line in sup.views.logs(tail=2).lines] == ["GET /x 404", "keyerror again"]


def test_each_agent_call_is_one_audit_record(tmp_path: Path) -> None:
    sup = _supervisor(tmp_path)
    sup.publish([
        CodingAgent(time=T0, state="connected", client="claude-code", pid=4242, user="dev"),
        CodingAgent(time=T0 + 1, state="call", client="claude-code", pid=4242, user="dev", tool="logs",
                    arguments='{"search": "KeyError"}', ok=True, summary="2 lines"),
        CodingAgent(time=T0 + 2, state="call", client="claude-code", pid=4242, user="dev", tool="grant_access",
                    arguments='{"address": "203.0.113.7"}', ok=False, summary="refused"),
        CodingAgent(time=T0 + 3, state="disconnected", client="claude-code", pid=4242, user="dev"),
    ])
    records = [line.split("\t")[1:] for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert records == [
        ["dev", "mcp-connect", "claude-code pid 4242", "-", "-"],
        ["dev", "mcp", "claude-code pid 4242", "logs", '{"search": "KeyError"} -> ok: 2 lines'],
        ["dev", "mcp", "claude-code pid 4242", "grant_access", '{"address": "203.0.113.7"} -> refused'],
        ["dev", "mcp-disconnect", "claude-code pid 4242", "-", "-"],
    ]
