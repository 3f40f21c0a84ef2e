"""display_lines, the batch fast path, says exactly what display_text says line by line."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from debugdash.protocol.text import MAX_LINE_CHARS, display_lines, display_text

_PIECES = st.sampled_from([
    b"plain text ", b"\t", b"\r", b"\x1b[1m\x1b[31m500\x1b[0m", b"\x1b]52;c;QQ==\x07", b"\xe2\x80\xae", b"\xc2\x9b2J",
    b"\xff\xfe", b"\xe2\x80", b"caf\xc3\xa9", b"\x7f", b"\x00", b"x" * (MAX_LINE_CHARS + 5),
])
_LINES = st.lists(st.lists(_PIECES, max_size=6).map(b"".join), max_size=12)


@settings(max_examples=300, deadline=None)
@given(_LINES)
def test_a_batch_reads_as_its_lines_one_by_one(lines: list[bytes]) -> None:
    assert display_lines(lines) == [display_text(line) for line in lines]


def test_a_coloured_request_log_line_does_not_change_its_plain_neighbours() -> None:
    lines = [b"Traceback (most recent call last):", b'127.0.0.1 - - "GET /boom HTTP/1.1" \x1b[35m\x1b[1m500\x1b[0m -', b"\tindented"]
    assert display_lines(lines) == ["Traceback (most recent call last):", '127.0.0.1 - - "GET /boom HTTP/1.1" 500 -', "\tindented"]
