"""Whatever the app writes, debugdash keeps reading and stays bounded."""

from __future__ import annotations

import json
from pathlib import Path

import psutil
from hypothesis import given, settings
from hypothesis import strategies as st

from debugdash.core.logbuffer import DEFAULT_CAPACITY, LineSplitter, LogBuffer, MAX_LINE_BYTES
from debugdash.protocol.events import Log, log_lines_json
from debugdash.protocol.text import display_lines, display_text
from tests.support import Session, free_port, http, wait_for, write_app

NOISY = """
    import sys
    from flask import Flask

    app = Flask(__name__)

    @app.route("/binary")
    def binary():
        out = sys.stdout.buffer
        out.write(b"bad utf8: \\xff\\xfe\\xc3 end\\n")
        out.write(b"\\x1b[2J\\x1b]0;owned title\\x07colour \\x1b[31mred\\x1b[0m [bold]markup[/] end\\n")
        out.flush()
        return "ok"

    @app.route("/huge")
    def huge():
        sys.stdout.write("H" * (10 * 1024 * 1024) + "\\n")
        sys.stdout.write("after the huge line\\n")
        sys.stdout.flush()
        return "ok"

    @app.route("/flood")
    def flood():
        line = "flood line with some text to make it realistic 0123456789\\n"
        write = sys.stdout.write
        for _ in range(300_000):
            write(line)
        write("flood done\\n")
        sys.stdout.flush()
        return "ok"
"""


def test_binary_and_escape_sequences_arrive_as_plain_safe_text(tmp_path: Path) -> None:
    write_app(tmp_path, NOISY)
    port = free_port()
    session = Session("--app", "app", "--port", str(port), "--no-reload", cwd=tmp_path)
    try:
        session.wait_event("ready")
        assert http(port, "/binary")[0] == 200
        bad = session.wait_event("log", lambda e: e["line"].startswith("bad utf8"))
        assert bad["line"] == "bad utf8: \ufffd\ufffd\ufffd end"
        colour = session.wait_event("log", lambda e: e["line"].startswith("colour"))
        assert colour["line"] == "colour red [bold]markup[/] end"
        assert not any("\x1b" in line for line in session.log_lines())
    finally:
        session.close()


def test_a_ten_megabyte_line_is_cut_and_the_next_line_still_arrives(tmp_path: Path) -> None:
    write_app(tmp_path, NOISY)
    port = free_port()
    session = Session("--app", "app", "--port", str(port), "--no-reload", cwd=tmp_path)
    try:
        session.wait_event("ready")
        assert http(port, "/huge")[0] == 200
        session.wait_event("log", lambda e: e["line"] == "after the huge line")
        huge = session.wait_event("log", lambda e: e["line"].startswith("HHHH"))
        assert len(huge["line"]) < 10_000
        assert "more characters" in huge["line"] or "more bytes" in huge["line"]
    finally:
        session.close()


def test_a_flood_is_consumed_with_bounded_memory(tmp_path: Path) -> None:
    write_app(tmp_path, NOISY)
    port = free_port()
    # Readable output to a pipe the test drains: the supervisor must keep up.
    session = Session("--app", "app", "--port", str(port), "--no-reload", cwd=tmp_path, json_output=False)
    try:
        wait_for(lambda: any(" ready " in line for line in session.stdout_lines), what="ready line")
        supervisor = psutil.Process(session.proc.pid)
        before = supervisor.memory_info().rss
        for _ in range(3):
            assert http(port, "/flood", timeout=120)[0] == 200
        wait_for(lambda: session.stdout_lines.count("  | flood done") == 3, timeout=60, what="flood consumed")
        after = supervisor.memory_info().rss
        assert after - before < 60 * 1024 * 1024, f"supervisor grew by {(after - before) / 1e6:.0f} MB"
    finally:
        session.close()


def _lines(fed: tuple[bytes, int]) -> list[bytes]:
    block, count = fed
    lines = block.split(b"\n") if count else []
    assert len(lines) == count
    return lines


def test_line_splitter_bounds_lines_and_keeps_order() -> None:
    splitter = LineSplitter(max_line=10)
    assert _lines(splitter.feed(b"ab")) == []
    assert _lines(splitter.feed(b"c\nde")) == [b"abc"]
    lines = _lines(splitter.feed(b"f" * 25 + b"\nxyz\n"))
    assert lines[0].startswith(b"de" + b"f" * 8) and b"17 more bytes" in lines[0]
    assert lines[1] == b"xyz"
    assert _lines(splitter.feed(b"tail")) == [] and _lines(splitter.flush()) == [b"tail"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from([b"a", b"bb", b"\n", b"c" * 9, b"d" * 23, b"\n\n", b""]), max_size=12).map(b"".join), max_size=8))
def test_line_splitter_gives_every_line_as_a_split_of_the_whole_output_would(chunks) -> None:
    """Whatever the chunks, the lines are those of the whole output, each cut to the limit."""
    splitter = LineSplitter(max_line=10)
    got = [line for chunk in chunks for line in _lines(splitter.feed(chunk))] + _lines(splitter.flush())
    whole = b"".join(chunks).split(b"\n")
    if whole[-1] == b"":
        whole.pop()  # the output ended with its newline: no unterminated line
    assert got == [line if len(line) <= 10 else line[:10] + f" … [{len(line) - 10} more bytes]".encode() for line in whole]


def test_log_buffer_keeps_only_the_newest_lines() -> None:
    buffer = LogBuffer(capacity=100)
    calls = []
    buffer.listen(lambda: calls.append(1))
    buffer.append("stdout", [f"line {i}".encode() for i in range(250)])
    assert buffer.last_seq == 250
    lines = buffer.since(0)
    assert len(lines) == 100
    assert (lines[0].seq, lines[0].text) == (151, "line 150")
    assert buffer.since(249)[0].text == "line 249"
    assert len(calls) == 1, "one notification per batch, never one per line"
    assert DEFAULT_CAPACITY >= 1000 and MAX_LINE_BYTES >= 4096


def test_display_text_strips_controls_but_keeps_markup_literal() -> None:
    assert display_text(b"\x1b[1;31mred\x1b[0m") == "red"
    assert display_text("[bold]x[/]") == "[bold]x[/]"
    assert display_text("\x9b31mc1 csi") == "c1 csi"
    assert display_text("tab\there") == "tab\there"
    assert "\x07" not in display_text("bell\x07")


def test_a_plain_print_in_a_view_shows_up_without_a_flush(tmp_path: Path) -> None:
    write_app(tmp_path, """
        from flask import Flask

        app = Flask(__name__)

        @app.route("/")
        def index():
            print("hello from the view")  # no flush: stdout is a pipe, so block-buffered
            return "ok"
    """)
    port = free_port()
    session = Session("--app", "app", "--port", str(port), "--no-reload", cwd=tmp_path)
    try:
        session.wait_event("ready")
        assert http(port, "/")[0] == 200
        session.wait_event("log", lambda e: e["line"] == "hello from the view")
        assert session.proc.poll() is None
    finally:
        session.close()


@given(st.lists(st.binary(max_size=300), max_size=30))
def test_batch_display_is_exactly_the_line_by_line_display(lines: list[bytes]) -> None:
    lines = [line.replace(b"\n", b"") for line in lines]
    assert display_lines(lines) == [display_text(line) for line in lines]


def test_batch_display_of_long_and_hostile_lines() -> None:
    lines = [b"x" * 5000, b"\x1b[31mred", b"ok", "caf\u00e9".encode(), b"\xff"]
    assert display_lines(lines) == [display_text(line) for line in lines]


@given(st.lists(st.text(max_size=50), max_size=10), st.sampled_from(["stdout", "stderr"]))
def test_bulk_log_json_is_the_log_event_json(texts: list[str], stream: str) -> None:
    when = 1795500000.25
    expected = [json.dumps(Log(stream=stream, line=t, time=when).to_dict(), separators=(",", ":")) + "\n" for t in texts]
    assert log_lines_json(stream, texts, when) == expected


def test_log_buffer_is_bounded_in_bytes_too() -> None:
    buffer = LogBuffer(capacity=10_000, max_bytes=100_000)
    for _ in range(50):
        buffer.append("stdout", [b"y" * 10_000])
    stored = buffer.since(0)
    assert sum(len(line.text) for line in stored) <= 110_000
    assert stored[-1].seq == 50


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=6), st.integers(min_value=0, max_value=130), st.integers(min_value=1, max_value=130))
def test_log_buffer_gives_the_lines_asked_for_from_any_point_in_a_block(sizes, since, limit) -> None:
    buffer = LogBuffer(capacity=1000)
    n = 0
    for size in sizes:
        buffer.append("stdout", [f"line {i}".encode() for i in range(n, n + size)])
        n += size
    for asked in (None, limit):
        got = [(line.seq, line.text) for line in buffer.since(since, limit=asked)]
        low = since if asked is None else max(since, n - asked)
        assert got == [(i + 1, f"line {i}") for i in range(low, n)]
