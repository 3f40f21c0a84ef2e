"""Tracebacks as good as the best renderers: the whole statement with the
failing part marked, SyntaxErrors with their caret, notes and exception
groups, and never a frame of debugdash's own."""

from __future__ import annotations

import json

from debugdash.agent.capture import exception_chain
from debugdash.agent.encoding import encode_message
from debugdash.protocol.events import RequestError
from debugdash.protocol.commands import decode, encode


def _total(order: dict) -> int:
    return (
        order["total"]
        + order["tax"]
    )


def _caught(function, *args) -> BaseException:
    try:
        function(*args)
    except BaseException as e:  # noqa: BLE001 (the tests inspect what was raised)
        return e
    raise AssertionError("expected an exception")


def test_a_statement_over_several_lines_is_shown_whole_with_the_failing_part_marked() -> None:
    [info] = exception_chain(_caught(_total, {"total": 1}))
    frame = info.frames[-1]
    assert frame.function == "_total" and frame.source == '+ order["tax"]'
    assert frame.statement == ["return (", '    order["total"]', '    + order["tax"]', ")"]
    assert frame.statement_lineno == frame.lineno - 2
    first, col, last, end = frame.highlight
    assert (first, last) == (2, 2) and frame.statement[2][col:end] == 'order["tax"]'


def test_a_one_line_statement_marks_the_sub_expression_that_raised() -> None:
    def divide(n: int) -> float:
        return n + 10 / (n - n)

    frame = exception_chain(_caught(divide, 3))[-1].frames[-1]
    assert frame.statement == ["return n + 10 / (n - n)"]
    first, col, last, end = frame.highlight
    assert frame.statement[0][col:end] == "10 / (n - n)"


def test_a_syntax_error_shows_the_offending_line_and_where() -> None:
    [info] = exception_chain(_caught(compile, "x = 1\ny = (2 +)\n", "broken.py", "exec"))
    where = info.frames[-1]
    assert (where.filename, where.lineno, where.source) == ("broken.py", 2, "y = (2 +)")
    first, col, last, end = where.highlight
    assert where.statement == ["y = (2 +)"] and col >= 5 and end > col


def test_notes_and_the_exceptions_of_a_group_are_kept() -> None:
    def fail() -> None:
        error = ExceptionGroup("two checks failed", [ValueError("bad size"), KeyError("colour")])
        error.add_note("while validating order 17")
        raise error

    [info] = exception_chain(_caught(fail))
    assert info.type == "ExceptionGroup" and info.notes == ["while validating order 17"]
    assert [(e.type, e.message) for e in info.exceptions] == [("ValueError", "bad size"), ("KeyError", "'colour'")]


def test_debugdash_frames_never_appear() -> None:
    from debugdash.agent.request_errors import CaptureMiddleware, ErrorReporter

    reported: list[RequestError] = []

    def app(environ, start_response):
        return {}["missing"]

    middleware = CaptureMiddleware(app, ErrorReporter(reported.append))
    _caught(middleware, {"REQUEST_METHOD": "GET", "PATH_INFO": "/"}, lambda *a: None)
    [event] = reported
    files = [frame.filename for frame in event.exception.frames]
    assert files and not any("/debugdash/agent/" in name for name in files), files


def test_fast_encoding_carries_statements_notes_and_groups_like_the_event_model() -> None:
    def fail() -> None:
        try:
            _total({"total": 1})
        except KeyError as e:
            group = ExceptionGroup("wrapped", [e])
            group.add_note("a note")
            raise group from e

    event = RequestError(method="GET", path="/", remote_addr="127.0.0.1", chain=exception_chain(_caught(fail)))
    assert event.exception.exceptions[0].frames[-1].statement
    assert json.loads(encode_message(event)) == json.loads(encode(event))
    assert decode(encode_message(event)) == event
