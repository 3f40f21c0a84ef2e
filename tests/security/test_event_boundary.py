"""The event boundary: every string of every event the supervisor decodes from
the agent's socket comes out neutralised — including events and fields added
later, which this test finds by itself (every Event subclass, every field by its
type), so a new field cannot forget it."""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from typing import Any

import pytest

from debugdash.protocol import commands as wire
from debugdash.protocol.events import Event, ExceptionInfo, Frame, event_from_dict
from debugdash.protocol.text import neutralise

HOSTILE = "a\x1b]52;c;UFdORUQ=\x07\x1b[2J\x9b1m\u202etxt.exe\u2066\r\nb\x00\x7f\ud800"
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\u2066", "\r", "\x00", "\x7f", "\ud800")


def _hostile(hint: Any, outer: tuple[type, ...] = ()) -> Any:
    """A value of type ``hint`` with hostile text in every string; a type that
    holds itself (exception groups hold exceptions) is filled one level deep."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        return _hostile(next(a for a in args if a is not type(None)), outer)
    if origin is typing.Literal or hint is str:
        return HOSTILE
    if origin is list:
        if args[0] in outer:
            return []
        return [_hostile(args[0], outer), _hostile(args[0], outer)]
    if origin is dict:
        return {HOSTILE: _hostile(args[1], outer), "plain": _hostile(args[1], outer)}
    if origin is tuple:  # a fixed shape (a request record as a row): a JSON array of those types
        return [_hostile(arg, outer) for arg in args]
    if hint is bool:
        return True
    if hint in (int, float):
        return hint(7)
    if dataclasses.is_dataclass(hint):
        if hint in outer:
            return None
        hints = typing.get_type_hints(hint)
        return {f.name: _hostile(hints[f.name], (*outer, hint)) for f in dataclasses.fields(hint)}
    raise AssertionError(f"no hostile value for {hint!r}: teach this test the new type")


def _events() -> list[type[Event]]:
    found, todo = [], [Event]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        # A slots dataclass replaces the class it decorates: keep the one its module exposes.
        if cls.name and getattr(sys.modules[cls.__module__], cls.__name__, None) is cls:
            found.append(cls)
    return found


def _strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, (list, tuple)):
        return [s for i, v in enumerate(value) for s in _strings(v, f"{path}[{i}]")]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (_strings(k, f"{path}<key>") + _strings(v, f"{path}.{k!r}"))]
    if dataclasses.is_dataclass(value):
        return [s for f in dataclasses.fields(value) for s in _strings(getattr(value, f.name), f"{path}.{f.name}")]
    return []


MULTILINE_PATHS = (".message", ".code", ".output", ".value", ".traceback")  # the last four: the console (issue 13)


@pytest.mark.parametrize("cls", _events(), ids=lambda cls: cls.name)
def test_every_string_of_every_event_is_neutralised_when_decoded(cls: type[Event]) -> None:
    hints = typing.get_type_hints(cls)
    data = {"event": cls.name, **{f.name: _hostile(hints[f.name]) for f in dataclasses.fields(cls) if f.name != "time"}}
    # As the agent's socket carries it: JSON escapes, surrogates included.
    event = wire.decode(json.dumps(data).encode() + b"\n")
    assert isinstance(event, cls)
    strings = _strings(event)
    assert not strings or any(s == neutralise(HOSTILE) or s == neutralise(HOSTILE, multiline=True) for _, s in strings)
    for path, text in strings:
        for char in RAW:
            assert char not in text, f"{cls.name}{path} kept {char!r}"
        if not path.endswith(MULTILINE_PATHS):
            assert "\n" not in text, f"{cls.name}{path} is one line, but kept a newline"
        # Every line of it can be written to a UTF-8 terminal or file.
        text.encode("utf-8")


def test_what_is_neutralised_stays_visible() -> None:
    event = event_from_dict(
        {"event": "access_refused", "address": "127.0.0.2", "what": "debugger", "detail": "/\x1b]2;T\x07\u202e\x9b\nx\tz"}
    )
    assert event.detail == "/␛]2;T␇<U+202E><U+009B>␊x\tz"
    error = event_from_dict(
        {"event": "load_error", "message": "line one\r\nline two\x1b[31m", "exception": None}
    )
    assert error.message == "line one\nline two␛[31m"


def test_nested_frames_and_locals_are_reached() -> None:
    info = ExceptionInfo(type="E", message="m", frames=[Frame(filename="f\x1b", lineno=1, function="g\u202e", locals={"k\x07": "v\x1b"})])
    data = {"event": "request_error", "method": "GET", "path": "/", "remote_addr": "127.0.0.1", "chain": [dataclasses.asdict(info)]}
    [exception] = event_from_dict(data).chain
    [frame] = exception.frames
    assert (frame.filename, frame.function, frame.locals) == ("f␛", "g<U+202E>", {"k␇": "v␛"})
