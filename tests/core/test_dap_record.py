"""What the attach hub keeps of an IDE's session, from plain DAP messages:
the configuration it replays to a new worker, the breakpoint ids the IDE knows,
which threads are stopped, and how requests a departed worker never answered
are answered."""

from __future__ import annotations

import json

from debugdash.core.attach_parties import Debuggee, Session
from debugdash.core.dap_record import SessionConfig, Threads


def request(command: str, arguments: dict | None = None, seq: int = 1) -> dict:
    return {"seq": seq, "type": "request", "command": command, "arguments": arguments or {}}


def breakpoints(path: str, *lines: int) -> dict:
    return {"source": {"path": path}, "breakpoints": [{"line": line} for line in lines]}


def answered(config: SessionConfig, sent: dict, body: dict) -> None:
    config.on_request(sent)
    config.on_response(sent, {"type": "response", "success": True, "command": sent["command"], "body": body})


def test_replay_is_the_last_configuration_in_vs_codes_order() -> None:
    config = SessionConfig()
    config.on_request(request("initialize", {"clientID": "vscode"}))
    config.on_request(request("attach", {"justMyCode": True, "connect": {"port": 5678}}))
    config.on_request(request("setBreakpoints", breakpoints("/app/views.py", 10)))
    config.on_request(request("setBreakpoints", breakpoints("/app/models.py", 3)))
    config.on_request(request("setExceptionBreakpoints", {"filters": ["raised"]}))
    config.on_request(request("setFunctionBreakpoints", {"breakpoints": []}))
    assert config.replay()[-1][0] != "configurationDone", "not configured yet"
    config.on_request(request("configurationDone"))
    config.on_request(request("setBreakpoints", breakpoints("/app/views.py", 10, 42)))  # later, while running
    config.on_request(request("threads"))
    assert config.replay() == [
        ("initialize", {"clientID": "vscode"}),
        ("attach", {"justMyCode": True, "connect": {"port": 5678}}),
        ("setBreakpoints", breakpoints("/app/views.py", 10, 42)),
        ("setBreakpoints", breakpoints("/app/models.py", 3)),
        ("setFunctionBreakpoints", {"breakpoints": []}),
        ("setExceptionBreakpoints", {"filters": ["raised"]}),
        ("configurationDone", None),
    ]


def test_nothing_to_replay_before_attach() -> None:
    config = SessionConfig()
    config.on_request(request("initialize"))
    assert config.replay() == []


def test_a_breakpoint_that_binds_differently_is_told_under_the_ids_the_ide_knows() -> None:
    config = SessionConfig()
    sent = request("setBreakpoints", breakpoints("/app/views.py", 10, 20))
    answered(config, sent, {"breakpoints": [{"id": 1, "verified": True, "line": 10}, {"id": 2, "verified": True, "line": 20}]})
    # The new worker's pydevd numbers from 7 and line 20 holds no code any more.
    fresh = {"type": "response", "success": True, "body": {"breakpoints": [
        {"id": 7, "verified": True, "line": 10}, {"id": 8, "verified": False, "line": 20, "message": "no code"}]}}
    events = config.rebind(sent["arguments"], fresh)
    assert events == [{"type": "event", "event": "breakpoint", "body": {"reason": "changed", "breakpoint": {
        "id": 2, "verified": False, "line": 20, "message": "no code"}}}]
    later = {"type": "event", "event": "breakpoint", "body": {"reason": "changed", "breakpoint": {"id": 7, "verified": False}}}
    assert config.ide_breakpoint(later)["body"]["breakpoint"]["id"] == 1
    # Once the IDE sets the file again it knows the new ids: no translation.
    answered(config, request("setBreakpoints", breakpoints("/app/views.py", 10)), {"breakpoints": [{"id": 9, "verified": True, "line": 10}]})
    assert config.ide_breakpoint(later)["body"]["breakpoint"]["id"] == 7


def event(name: str, **body) -> dict:
    return {"type": "event", "event": name, "body": body}


def test_threads_are_paused_from_stopped_until_continued_or_continue() -> None:
    threads = Threads()
    threads.on_event(event("thread", reason="started", threadId=1))
    threads.on_event(event("stopped", reason="breakpoint", threadId=2))
    assert threads.paused
    threads.on_request(request("continue", {"threadId": 2}))
    assert not threads.paused
    threads.on_event(event("stopped", reason="step", threadId=2))
    threads.on_event(event("continued", threadId=9, allThreadsContinued=True))
    assert not threads.paused
    threads.on_event(event("stopped", reason="exception", threadId=2))
    assert threads.goodbye() == [
        event("continued", threadId=2, allThreadsContinued=True),
        event("thread", reason="exited", threadId=1),
        event("thread", reason="exited", threadId=2),
    ]
    assert not threads.paused and threads.goodbye() == []


class _Wire:
    """Stands for a StreamWriter: keeps the DAP messages written to it."""

    def __init__(self) -> None:
        self.messages: list[dict] = []

    def write(self, data: bytes) -> None:
        self.messages.append(json.loads(data.split(b"\r\n\r\n", 1)[1]))


def test_requests_a_worker_leaves_unanswered_fail_except_a_disconnect_which_is_then_done() -> None:
    ide, worker = _Wire(), _Wire()
    session, debuggee = Session(ide), Debuggee(4242, worker)  # type: ignore[arg-type]
    debuggee.forward(session, request("evaluate", {"expression": "1"}, seq=7))
    debuggee.forward(session, request("disconnect", {"terminateDebuggee": False}, seq=8))
    debuggee.fail_pending("the server was replaced; ask again")  # the worker went away (a reload)
    answers = {m["request_seq"]: m for m in ide.messages}
    assert answers[7]["success"] is False and "replaced" in answers[7]["message"]
    assert answers[8] == {"type": "response", "request_seq": 8, "success": True, "command": "disconnect", "seq": 2}
