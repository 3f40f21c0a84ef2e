"""Exceptions debugdash reports are passed on to the server without debugdash's own frames (in process).

A server formats the traceback of every failing request (Werkzeug for its log
and its debugger page, gunicorn or waitress with the ``traceback`` module);
each frame debugdash's wrappers leave in it is walked, and shown by servers
that do not honour ``__traceback_hide__``.
"""

from __future__ import annotations

import traceback

import flask

from debugdash.agent.error_groups import ErrorGroups
from debugdash.agent.request_errors import CaptureMiddleware, ErrorReporter, _report_from_handle_exception
from debugdash.protocol.events import RequestError


def _app_and_events(propagate: bool) -> tuple[flask.Flask, list]:
    class App(flask.Flask):  # the hook patches the class: a subclass keeps it out of other tests
        pass

    events: list = []
    _report_from_handle_exception(App, ErrorReporter(events.append, groups=ErrorGroups(events.append, timer=False)))
    app = App(__name__)
    app.config["PROPAGATE_EXCEPTIONS"] = propagate

    @app.get("/boom")
    def boom():
        raise LookupError("no such zone")

    return app, events


def _call(wsgi, environ_path: str = "/boom") -> BaseException:
    from werkzeug.test import EnvironBuilder

    try:
        body = wsgi(EnvironBuilder(path=environ_path).get_environ(), lambda *args: None)
        list(body)
    except Exception as e:
        return e
    raise AssertionError("the request did not fail")


def test_a_propagated_failure_leaves_no_debugdash_frame_in_the_servers_traceback() -> None:
    app, events = _app_and_events(propagate=True)  # Flask's debug mode: the server sees the exception
    reporter = ErrorReporter(events.append, groups=ErrorGroups(events.append, timer=False))
    exc = _call(CaptureMiddleware(app, reporter))

    logged = "".join(traceback.format_exception(exc))
    assert "debugdash/agent" not in logged
    assert "in boom" in logged and "LookupError: no such zone" in logged
    assert "in wsgi_app" in logged  # Flask's own frames stay: only debugdash's go
    # Reported once, with the app's frame where it was raised.
    errors = [e for e in events if isinstance(e, RequestError)]
    assert len(errors) == 1
    assert errors[0].exception.raised_at.function.endswith("boom")


def test_an_error_raised_while_streaming_is_still_reported_and_passed_on() -> None:
    def streaming(environ, start_response):
        start_response("200 OK", [])

        def rows():
            yield b"one"
            raise ConnectionError("mid-stream")

        return rows()

    events: list = []
    reporter = ErrorReporter(events.append, groups=ErrorGroups(events.append, timer=False))
    exc = _call(CaptureMiddleware(streaming, reporter))
    assert isinstance(exc, ConnectionError)
    assert "in rows" in "".join(traceback.format_exception(exc))
    assert [e.streaming for e in events if isinstance(e, RequestError)] == [True]


def _whole_stack(app, events: list, *, debugger: bool):
    """What the agent serves: the request record, then the gate, then error capture (as hooks.py builds it)."""
    from debugdash.agent.gate import DebuggerGate
    from debugdash.agent.requests import RequestRecorder

    reporter = ErrorReporter(events.append, groups=ErrorGroups(events.append, timer=False))
    captured = CaptureMiddleware(app, reporter)
    gate = DebuggerGate(debugger=debugger, emit=events.append)
    return RequestRecorder(events.append).wrap(gate.wrap(captured, captured, "127.0.0.1"))


def _call_from(wsgi, remote: str) -> BaseException:
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path="/boom").get_environ()
    environ["REMOTE_ADDR"] = remote
    try:
        list(wsgi(environ, lambda *args: None))
    except Exception as e:
        return e
    raise AssertionError("the request did not fail")


def test_no_layer_of_the_agent_is_left_in_the_traceback_the_server_logs() -> None:
    app, events = _app_and_events(propagate=True)
    # Debugger off; on for a peer it refuses (another address, and a loopback peer whose owner it cannot tell).
    for debugger, remote in ((False, "127.0.0.1"), (True, "127.0.0.2"), (True, "127.0.0.1")):
        exc = _call_from(_whole_stack(app, events, debugger=debugger), remote)
        logged = "".join(traceback.format_exception(exc))
        assert "debugdash/agent" not in logged, (debugger, remote, logged)
        assert "in boom" in logged and "in wsgi_app" in logged


def test_the_debugger_walks_the_frames_of_the_failure_and_none_of_the_agents(monkeypatch) -> None:
    """An allowed failure is raised again inside Werkzeug's debugger: the traceback it
    builds its page from starts at its own frame and goes on with the app's, as under
    plain ``flask run --debug`` (every frame it walks costs a line lookup, hidden or not)."""
    import werkzeug.debug
    from werkzeug.test import EnvironBuilder

    from debugdash.agent.gate import DebuggerGate
    from debugdash.agent.requests import RequestRecorder
    from debugdash.protocol.clock import ManualClock
    from debugdash.protocol.commands import WireGrant

    walked: list[list[str]] = []

    class Recording(werkzeug.debug.DebugTraceback):
        def __init__(self, exc, *args, **kwargs):
            tb, files = exc.__traceback__, []
            while tb is not None:
                files.append(tb.tb_frame.f_code.co_filename)
                tb = tb.tb_next
            walked.append(files)
            super().__init__(exc, *args, **kwargs)

    monkeypatch.setattr(werkzeug.debug, "DebugTraceback", Recording)
    app, events = _app_and_events(propagate=True)
    reporter = ErrorReporter(events.append, groups=ErrorGroups(events.append, timer=False))
    captured = CaptureMiddleware(app, reporter)
    clock = ManualClock()
    # A grant lets a loopback peer in without looking up its owner (no socket in process).
    gate = DebuggerGate(debugger=True, emit=events.append, clock=clock,
                        grants=[WireGrant(network="127.0.0.1", what=["debugger"], deadline=clock() + 60)])
    wsgi = RequestRecorder(events.append).wrap(gate.wrap(captured, captured, "127.0.0.1"))
    environ = EnvironBuilder(path="/boom").get_environ()
    environ["REMOTE_ADDR"] = "127.0.0.1"
    statuses: list[str] = []
    page = b"".join(wsgi(environ, lambda status, headers, *rest: statuses.append(status)))

    assert statuses == ["500 INTERNAL SERVER ERROR"] and b"LookupError: no such zone" in page
    assert len(walked) == 1
    files = walked[0]
    assert files[0] == werkzeug.debug.__file__  # its own frame, which it skips
    assert not [f for f in files if "debugdash/agent" in f], files
    assert files[-1] == __file__  # down to where the app raised
