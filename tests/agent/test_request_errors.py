"""request_error for every demo failure, with the debugger on, off, and debug mode off."""

from __future__ import annotations

import json

import pytest

from debugdash.protocol.events import RequestError
from debugdash.protocol.commands import Configure

from tests.agent.agentkit import Server, free_port

# (route, exception type, message fragment, app function where it was raised)
FAILURES = [
    ("/divide", "ZeroDivisionError", "division by zero", "divide"),
    ("/template-key", "KeyError", "language", "_lookup"),
    ("/chained", "RuntimeError", "not a number", "chained"),
    ("/stream", "ConnectionError", "mid-stream", "stream.<locals>.rows"),
]

MODES = {
    "debugger-on": (["--debug"], True),
    "debugger-off": (["--debug"], False),
    "debug-off": ([], True),
}


@pytest.fixture(scope="module", params=list(MODES))
def server(request, module_servers) -> Server:
    flags, debugger = MODES[request.param]
    port = free_port()
    return module_servers(
        flask_args=[*flags, "run", "--no-reload", "--port", str(port)],
        port=port,
        configure=Configure(debugger=debugger),
    )


def _error_for(server: Server, path: str, since: int) -> RequestError:
    return server.supervisor.wait(RequestError, since=since, path=path)


@pytest.mark.parametrize("path, type_, message, function", FAILURES)
def test_failure_is_reported_with_its_frames(server: Server, path, type_, message, function) -> None:
    mark = server.supervisor.mark()
    reply = server.get(path)
    if path == "/stream":
        assert reply.status == 200  # the headers went out before the body failed
    else:
        assert reply.status == 500
    error = _error_for(server, path, mark)
    assert (error.method, error.remote_addr, error.pid) == ("GET", "127.0.0.1", server.ready.pid)
    assert error.exception.type == type_
    assert message in error.exception.message
    assert error.streaming is (path == "/stream")
    raised_at = error.exception.raised_at
    assert raised_at.function == function
    assert raised_at.filename.endswith("debugdash/demo/app.py")
    assert raised_at.source and raised_at.lineno > 0
    assert any(not f.is_app for f in error.exception.frames)


def test_chain_has_the_cause_and_survives_a_broken_repr(server: Server) -> None:
    mark = server.supervisor.mark()
    server.get("/chained")
    error = _error_for(server, "/chained", mark)
    assert [c.type for c in error.chain] == ["ValueError", "RuntimeError"]
    assert [c.relation for c in error.chain] == [None, "cause"]
    frame = error.exception.raised_at
    assert frame.locals["awkward"] == "<unrepresentable _Unprintable>"
    assert frame.locals["config"] == "{'port': 'eighty'}"


def test_template_error_frames_include_the_template(server: Server) -> None:
    mark = server.supervisor.mark()
    server.get("/template-key")
    error = _error_for(server, "/template-key", mark)
    files = [f.filename for f in error.exception.frames]
    assert any(name.endswith("templates/settings.html") for name in files)


def test_each_failure_is_reported_once(server: Server) -> None:
    mark = server.supervisor.mark()
    server.get("/divide")
    server.get("/stream")
    # Events arrive in order: once the last one is in, any duplicate of the first would be too.
    server.get("/chained")
    _error_for(server, "/chained", mark)
    events = server.supervisor.events[mark:]
    assert [e.path for e in events if isinstance(e, RequestError)] == ["/divide", "/stream", "/chained"]


def test_successful_requests_report_nothing(server: Server) -> None:
    mark = server.supervisor.mark()
    assert server.get("/ok").status == 200
    assert json.loads(server.get("/json").body) == {"ok": True}
    server.get("/divide")
    _error_for(server, "/divide", mark)
    assert [e.path for e in server.supervisor.events[mark:] if isinstance(e, RequestError)] == ["/divide"]


@pytest.mark.parametrize("debugger", [False, True])
def test_logged_tracebacks_read_as_under_plain_flask(start_server, debugger: bool) -> None:
    from tests.agent.agentkit import stderr_of, wait_for

    port = free_port()
    server = start_server(
        flask_args=["--debug", "run", "--no-reload", "--port", str(port)],
        port=port,
        configure=Configure(debugger=debugger),
    )
    assert server.get("/divide").status == 500
    logged = wait_for(lambda: "ZeroDivisionError" in stderr_of(server.proc) and stderr_of(server.proc), 10)
    assert 'debugdash/demo/app.py", line' in logged
    assert "debugdash/agent" not in logged
