"""AgentLines: which agent lines --json may write as they came (already neutral), and which not."""

from __future__ import annotations

import json

import pytest

from debugdash.agent.encoding import encode_message
from debugdash.core.agent_lines import AgentLines, neutral_line
from debugdash.protocol.commands import decode
from debugdash.protocol.events import ExceptionInfo, Frame, Gate, RequestError, RequestErrorRepeat
from debugdash.protocol.text import neutralise


def _error(message: str = "no item 7", local: str = "'x'") -> RequestError:
    frame = Frame("/srv/app.py", 3, "view", "raise KeyError(k)", locals={"k": local})
    return RequestError(method="GET", path="/item/7", remote_addr="127.0.0.1", pid=5, count=3,
                        chain=[ExceptionInfo(type="KeyError", message=message, frames=[frame])])


def _repeat(message: str) -> RequestErrorRepeat:
    return RequestErrorRepeat(type="KeyError", filename="/srv/app.py", lineno=3, count=9, method="GET",
                              path="/item/9", remote_addr="127.0.0.1", message=message, pid=5)


HOSTILE = ["\x1b]2;PWNED\x07", "\x07", "\u202e", "\x9b", "line\nforged", "\r", "\x7f", "\ud800", "\u2028", "\t\x00"]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_line_holding_anything_neutralise_would_change_is_not_forwarded(text):
    assert neutralise(text) != text  # the premise: each of these is changed at the boundary
    for event in (_error(message=text), _error(local=text), _repeat(text)):
        line = encode_message(event)
        assert not neutral_line(line), line
        # Nor as raw UTF-8, should a sender write it unescaped.
        assert not neutral_line(json.dumps(event.to_dict(), ensure_ascii=False).encode("utf-8", "surrogatepass"))


def test_a_neutral_line_is_written_as_it_came_and_equals_the_decoded_events_json():
    lines = AgentLines()
    for event in (_error(message="plain ascii, a tab\there"), _repeat("no item 9")):
        line = encode_message(event)
        decoded = decode(line)
        lines.remember(decoded, line)
        forwarded = lines.line_of(decoded)
        assert forwarded == line.decode().rstrip("\n")
        assert json.loads(forwarded) == decoded.to_dict()


def test_only_error_events_and_only_the_same_event_get_their_line():
    lines = AgentLines()
    gate = Gate(debugger=True, pid=5)
    lines.remember(gate, encode_message(gate))
    assert lines.line_of(gate) is None  # a gate may carry a PIN that --json leaves out
    error = decode(encode_message(_error()))
    lines.remember(error, encode_message(error))
    assert lines.line_of(decode(encode_message(_error()))) is None
    hostile = decode(encode_message(_error(message="\x1b[2J")))
    lines.remember(hostile, encode_message(_error(message="\x1b[2J")))
    assert lines.line_of(hostile) is None
