"""Turning exceptions into the event model: chains, frames, safe reprs (in process)."""

from __future__ import annotations

import json
import os

import flask

from debugdash.agent.capture import (
    MAX_FRAMES,
    exception_chain,
    is_app_file,
    mark_reported,
    safe_repr,
)
from debugdash.protocol.events import RequestError, event_from_dict


class _Broken:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


def _raise_chain() -> BaseException:
    try:
        try:
            {}["missing"]
        except KeyError as e:
            raise ValueError("bad value") from e
    except ValueError:
        try:
            raise RuntimeError("while handling")
        except RuntimeError as e:
            return e
    raise AssertionError("unreachable")


def test_chain_is_root_first_with_relations() -> None:
    chain = exception_chain(_raise_chain())
    assert [c.type for c in chain] == ["KeyError", "ValueError", "RuntimeError"]
    assert [c.relation for c in chain] == [None, "cause", "context"]
    assert chain[-1].message == "while handling"


def test_suppressed_context_is_left_out() -> None:
    try:
        try:
            raise KeyError("hidden")
        except KeyError:
            raise LookupError("shown") from None
    except LookupError as e:
        chain = exception_chain(e)
    assert [c.type for c in chain] == ["LookupError"]
    assert chain[0].relation is None


def test_cyclic_chain_terminates() -> None:
    a, b = ValueError("a"), TypeError("b")
    a.__context__, b.__context__ = b, a
    chain = exception_chain(a)
    assert {c.type for c in chain} == {"ValueError", "TypeError"}
    assert chain[0].relation is None


def test_frames_hold_source_and_safe_locals() -> None:
    broken = _Broken()  # noqa: F841
    long_text = "x" * 10_000  # noqa: F841
    try:
        1 / 0
    except ZeroDivisionError as e:
        chain = exception_chain(e)
    frame = chain[-1].frames[-1]
    assert frame.function == "test_frames_hold_source_and_safe_locals"
    assert frame.source == "1 / 0"
    assert frame.filename == __file__
    assert frame.locals["broken"] == "<unrepresentable _Broken>"
    assert len(frame.locals["long_text"]) <= 200
    assert frame.is_app


def test_many_locals_and_deep_stacks_are_bounded() -> None:
    namespace = {f"v{i}": i for i in range(100)}
    code = "def f(n):\n" + "".join(f"    v{i} = {i}\n" for i in range(100)) + "    return f(n - 1) if n else 1 / 0\n"
    exec(code, namespace)
    try:
        namespace["f"](100)
    except ZeroDivisionError as e:
        chain = exception_chain(e)
    frames = chain[-1].frames
    assert len(frames) == MAX_FRAMES
    assert all(len(f.locals) <= 40 for f in frames)


def test_safe_repr_bounds_containers_and_survives_broken_elements() -> None:
    assert len(safe_repr(list(range(100_000)))) <= 200
    assert safe_repr({"a": 1}) == "{'a': 1}"
    # One bad element must not hide its neighbours.
    assert safe_repr([_Broken(), 1]) == "[<unrepresentable _Broken>, 1]"
    assert safe_repr((1, _Broken())) == "(1, <unrepresentable _Broken>)"
    assert safe_repr([[_Broken()], "ok"]) == "[[<unrepresentable _Broken>], 'ok']"


class _Exploding(dict):
    def __iter__(self):
        raise RuntimeError("no iteration")


_Exploding.__name__ = "dict"  # reprlib picks its container repr by the type's name


def test_values_that_break_repr_itself_are_unrepresentable_not_fatal() -> None:
    assert safe_repr(_Exploding(a=1)) == "<unrepresentable _Exploding>"
    # Python refuses to print ints over 4300 digits: an app's huge number must not break the report.
    assert safe_repr(10**5000) == "<unrepresentable int>"


def test_a_dict_local_with_one_bad_value_shows_the_rest() -> None:
    order = {"total": 42, "customer": _Broken(), "note": "rush"}  # noqa: F841
    try:
        1 / 0
    except ZeroDivisionError as e:
        frame = exception_chain(e)[-1].frames[-1]
    assert frame.locals["order"] == "{'customer': <unrepresentable _Broken>, 'note': 'rush', 'total': 42}"


def test_library_frames_are_not_app_frames() -> None:
    assert not is_app_file(os.__file__)
    assert not is_app_file(flask.__file__)
    assert not is_app_file(exception_chain.__code__.co_filename)
    package = os.path.dirname(os.path.dirname(exception_chain.__code__.co_filename))
    assert not is_app_file(os.path.join(package, "cli.py"))
    assert is_app_file(__file__)


def test_demo_app_counts_as_app_code() -> None:
    import debugdash.demo.app as demo

    assert is_app_file(demo.__file__)


def test_each_exception_is_reported_once() -> None:
    error = ValueError("x")
    assert mark_reported(error)
    assert not mark_reported(error)


def test_captured_chain_survives_the_wire() -> None:
    event = RequestError(method="GET", path="/", remote_addr="127.0.0.1", chain=exception_chain(_raise_chain()))
    again = event_from_dict(json.loads(json.dumps(event.to_dict())))
    assert again == event


def test_fast_request_error_encoding_matches_the_event_model() -> None:
    from debugdash.agent.encoding import encode_message
    from debugdash.protocol.commands import decode, encode

    event = RequestError(
        method="POST", path="/x", remote_addr="::1", chain=exception_chain(_raise_chain()), streaming=True, pid=7
    )
    assert json.loads(encode_message(event)) == json.loads(encode(event))
    assert decode(encode_message(event)) == event


def test_plain_values_show_as_python_shows_them_and_stay_bounded() -> None:
    assert safe_repr({"n": 1, "label": "bench"}) == "{'n': 1, 'label': 'bench'}"
    assert safe_repr((1, None, 2.5, True)) == "(1, None, 2.5, True)"
    assert safe_repr("x" * 50) == repr("x" * 50)
    assert len(safe_repr(10**5000)) <= 200
    assert len(safe_repr(["y" * 1000] * 3)) <= 200
    assert "unrepresentable" in safe_repr({"a": _Broken()})


def test_a_repeated_failure_reports_the_same_frames_each_time() -> None:
    first, second = (exception_chain(_raise_chain()) for _ in range(2))
    assert first == second
    assert first[0].frames[-1].source == '{}["missing"]'


def test_fast_encoding_keeps_each_events_own_locals_and_awkward_text() -> None:
    from debugdash.agent.encoding import encode_message
    from debugdash.protocol.commands import decode

    def fail(label: str) -> BaseException:
        try:
            raise KeyError(f'quote " newline \n snowman \u2603 {label}')
        except KeyError as e:
            return e

    events = [
        RequestError(method="GET", path='/p"\u00e9', remote_addr="::1", chain=exception_chain(fail(label)))
        for label in ("first", "second \\ back")
    ]
    decoded = [decode(encode_message(event)) for event in events]
    assert decoded == events
    assert decoded[0].exception.frames[-1].locals["label"] == "'first'"
    assert decoded[1].exception.frames[-1].locals["label"] == repr("second \\ back")
