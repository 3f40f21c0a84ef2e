"""The full request of every failing request crosses the socket by a fast path; it must say what the codec says."""

from __future__ import annotations

import json

import pytest

from debugdash.agent.request_encoding import batch_json
from debugdash.protocol import codec, commands
from debugdash.protocol.codec import encode
from debugdash.protocol.requests import CapturedRequest, RequestBatch

AWKWARD = "ünï \"q\" \\ \x1b[31mred\x07 \u202eevil\u202c \u2028 tab\there \x9b"


def _captured(**fields) -> CapturedRequest:
    base = dict(id=8, method="GET", target="/x?a=1&b=%22", headers=[["Host", "127.0.0.1:5000"], ["User-Agent", "bench"]],
                body64="eA==", body_truncated=False, remote_addr="::1", scheme="http")
    return CapturedRequest(**{**base, **fields})


CASES = {
    "usual": _captured(),
    "awkward text everywhere": _captured(method=AWKWARD, target=AWKWARD, headers=[[AWKWARD, AWKWARD], ["A", "\x00"]],
                                         remote_addr=AWKWARD, scheme=AWKWARD, body_truncated=True),
    "no headers": _captured(headers=[]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_failed_requests_line_is_byte_equal_to_the_codecs(case: str) -> None:
    batch = RequestBatch(time=1700000001.5, captured=[CASES[case], _captured(id=9)], pid=42)
    assert batch_json(batch) == encode(batch)


@pytest.mark.parametrize("case", list(CASES))
def test_the_supervisor_builds_the_same_request_as_the_codec(case: str) -> None:
    line = encode(RequestBatch(time=2.0, captured=[CASES[case]], pid=7))
    data = json.loads(line)
    generic = codec.build(CapturedRequest, data["captured"][0])
    fast = commands.decode(line)
    assert isinstance(fast, RequestBatch)
    assert fast.captured == [generic]
    shown = json.dumps([fast.captured[0].method, fast.captured[0].headers, fast.captured[0].target])
    assert "\x1b" not in shown and "\\u001b" not in shown and "\u202e" not in shown  # neutralised, as everywhere


def test_an_unusual_shape_takes_the_codecs_path_and_still_arrives() -> None:
    data = json.loads(encode(RequestBatch(time=2.0, captured=[_captured()], pid=7)))
    data["captured"][0]["headers"] = [["Host", "h", "extra"]]  # not a pair: the generic decoder's business
    fast = commands.decode(json.dumps(data).encode())
    assert fast.captured == [codec.build(CapturedRequest, data["captured"][0])]
    del data["captured"][0]["scheme"]  # an older agent's field set: the default fills in
    assert commands.decode(json.dumps(data).encode()).captured[0].scheme == "http"
    odd = RequestBatch(time=2.0, captured=[_captured(headers=[("Host", "h")])], pid=7)  # tuples, as a caller may pass
    assert batch_json(odd) == encode(odd)
