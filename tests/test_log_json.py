"""``--json`` output of the server's lines: the batch fast path writes exactly what the slow path writes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace

from hypothesis import example, given, settings, strategies as st

from debugdash.core.agent_lines import AgentLines
from debugdash.core.logbuffer import LogBuffer
from debugdash.headless import HeadlessPrinter
from debugdash.protocol.events import Ready, log_lines_json
from debugdash.protocol.log_json import log_block_json, masking
from debugdash.protocol.text import MAX_LINE_CHARS, display_lines, display_text

_PIECES = st.sampled_from([
    b"plain text ", b'"quoted"', b"C:\\temp\\new", b"\\", b"\\u00e9", b"\t", b"\r", b"\x1b[31mred\x1b[0m",
    b"\x1b]52;c;QQ==\x07", b"\xe2\x80\xae", b"\xc2\x9b2J", b"\xff\xfe", b"caf\xc3\xa9", b"\x7f", b"\x00", b"\x0b",
    b"123-456-789", b"x" * MAX_LINE_CHARS, b"x",
])
_LINES = st.lists(st.lists(_PIECES, max_size=5).map(b"".join), max_size=10)
_PIN = (b"123-456-789", b"123456789")
_MASK = masking(pin.decode() for pin in _PIN)


def _batch_json(stream: str, lines: list[bytes], when: float, unless=None) -> list[bytes] | None:
    return log_block_json(stream, b"\n".join(lines), len(lines), when, unless=unless)


def _fast(stream: str, lines: list[bytes], when: float, unless=None) -> bytes | None:
    pieces = _batch_json(stream, lines, when, unless=unless)
    return None if pieces is None else b"".join(pieces)


def _slow(stream: str, lines: list[bytes], when: float) -> bytes:
    return "".join(log_lines_json(stream, display_lines(lines), when)).encode("ascii")


@settings(max_examples=400, deadline=None)
@given(_LINES, st.sampled_from(["stdout", "stderr"]), st.sampled_from([1795500000.25, 1795500000.123456789, 0.0]))
def test_a_batch_is_either_left_to_the_slow_path_or_written_byte_for_byte_as_it(lines, stream, when) -> None:
    fast = _fast(stream, lines, when)
    if fast is not None:
        assert fast == _slow(stream, lines, when)
    masked = _fast(stream, lines, when, unless=_MASK)
    assert masked is None or (masked == fast and not any(pin in line for line in lines for pin in _PIN))


def test_quotes_backslashes_and_tabs_take_the_fast_path() -> None:
    lines = [
        b'127.0.0.1 - - [28/Nov/2026 20:00:00] "GET /?q=\\"x\\" HTTP/1.1" 200 -',
        b"C:\\Users\\dev\\app.py",
        b"\tindented\t\\t not a tab",
        b"",
        b"x" * MAX_LINE_CHARS,
    ]
    fast = _fast("stderr", lines, 1795500000.5)
    assert fast is not None and fast == _slow("stderr", lines, 1795500000.5)
    assert [json.loads(line)["line"] for line in fast.decode().splitlines()] == [line.decode() for line in lines]


def test_hostile_lines_go_the_slow_way() -> None:
    for line in (b"\x1b[2Jwiped", b"bad \xff utf-8", "caf\u00e9".encode(), b"bell\x07", b"del\x7f", b"cr\r", b"x" * (MAX_LINE_CHARS + 1)):
        assert _batch_json("stdout", [b"plain", line], 1.0) is None, line
    assert _batch_json("stdout", [b"two\nlines"], 1.0) is None
    assert _batch_json("stdout", [b"pin 123456789 typed"], 1.0, unless=_MASK) is None


def _printer(out, capacity: int = 10_000, as_json: bool = True) -> tuple[HeadlessPrinter, LogBuffer]:
    logs = LogBuffer(capacity=capacity)
    subscribers = []
    supervisor = SimpleNamespace(logs=logs, hub=SimpleNamespace(lines=AgentLines()), subscribe=subscribers.append)
    return HeadlessPrinter(supervisor, out, as_json=as_json), logs  # type: ignore[arg-type]


def test_json_output_of_every_kind_of_line_is_valid_neutralised_and_in_order(tmp_path: Path) -> None:
    hostile = [
        b'say "hi" \\o/ \ttabbed',
        b"\x1b]0;owned title\x07\x1b[31mred\x1b[0m \x00\x08\x7f",
        b"bad utf8: \xff\xfe\xc3 end",
        b"bidi \xe2\x80\xae reversed",
        b"H" * (10 * MAX_LINE_CHARS),
    ]
    plain = [b'127.0.0.1 - - "GET /?pin=123-456-789&s=x HTTP/1.1" 200 -', b'127.0.0.1 - - "GET / HTTP/1.1" 200 -']
    path = tmp_path / "out.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        printer, logs = _printer(out)
        logs.append("stdout", [b"before the server is ready"])
        ready = Ready(url="http://127.0.0.1:5000", pid=7, host="127.0.0.1", port=5000, debug=True, debugger=True, pin="123-456-789", reloader=False)
        printer.on_events([ready])
        logs.append("stderr", plain)
        logs.append("stdout", hostile)
        logs.append("stdout", [b"after"])
    events = [json.loads(line) for line in path.read_text(encoding="ascii").splitlines()]
    assert [e["event"] for e in events] == ["log", "ready", *["log"] * 8]
    assert "pin" not in events[1]
    texts = [e["line"] for e in events if e["event"] == "log"]
    assert texts[1:3] == ['127.0.0.1 - - "GET /?pin=[PIN]&s=x HTTP/1.1" 200 -', '127.0.0.1 - - "GET / HTTP/1.1" 200 -']
    assert texts[3:8] == [display_text(line) for line in hostile]
    assert texts[4] == "red ���"  # no escape, no control survives
    assert [e["stream"] for e in events if e["event"] == "log"] == ["stdout", "stderr", "stderr", *["stdout"] * 6]


def test_the_note_of_dropped_lines_comes_before_the_lines_kept(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        _, logs = _printer(out, capacity=2)
        logs.append("stdout", [b"one", b"two", b"three", b"four", b"five"])
    texts = [json.loads(line)["line"] for line in path.read_text(encoding="ascii").splitlines()]
    assert texts == ["[debugdash: 3 lines of output not shown]", "four", "five"]


_READY = Ready(url="http://127.0.0.1:5000", pid=7, host="127.0.0.1", port=5000, debug=True, debugger=True, pin="123-456-789", reloader=False)


def _print(out, as_json: bool, batches: list[list[bytes]]) -> None:
    printer, logs = _printer(out, capacity=4, as_json=as_json)
    printer.on_events([_READY])
    for i, batch in enumerate(batches):
        logs.append("stderr" if i % 2 else "stdout", batch)


_MOSTLY_PLAIN = st.lists(
    st.lists(st.sampled_from([b"GET /", b' "q" ', b"\\", b"\t", b"123-456-789", b"123456789", b"\x1b[0m", b"\xff"]), max_size=4).map(b"".join),
    min_size=1, max_size=5,
)
_EXAMPLE = [[b"one", b'two "q" \\ \t'], [b"pin 123-456-789 typed", b"and 123456789"], [b"\x1b[31mred", b"ok"], [b"a", b"b", b"c", b"d", b"e", b"f"]]


@settings(max_examples=60, deadline=None)
@example(_EXAMPLE, False)
@example(_EXAMPLE, True)
@given(st.lists(_MOSTLY_PLAIN, max_size=5), st.booleans())
def test_a_file_gets_what_a_text_stream_gets(tmp_path_factory, batches: list[list[bytes]], as_json: bool) -> None:
    """Written to a file (the fast path where it applies) or to a StringIO (never): the same output."""
    path = tmp_path_factory.mktemp("out") / "out"
    with open(path, "w", encoding="utf-8") as out:
        _print(out, as_json, batches)
    slow = io.StringIO()
    _print(slow, as_json, batches)
    fast_lines, slow_lines = path.read_text(encoding="utf-8").splitlines(), slow.getvalue().splitlines()
    if as_json:  # each batch is stamped with the time it was written
        fast_lines, slow_lines = ([{k: v for k, v in json.loads(line).items() if k != "time"} for line in lines] for lines in (fast_lines, slow_lines))
    else:  # the ready line starts with the clock
        fast_lines, slow_lines = fast_lines[1:], slow_lines[1:]
    assert fast_lines == slow_lines
    assert "123-456-789" not in path.read_text(encoding="utf-8") and "123456789" not in path.read_text(encoding="utf-8")
