"""What the app writes reaches the screen as plain text, in batches, bounded and
searchable — from a real Flask server writing real bytes."""

from __future__ import annotations

import textwrap

import pytest

from debugdash.core.settings import Settings
from debugdash.tui.widgets.errors import ErrorList
from debugdash.tui.widgets.log import MAX_LINES, LogView
from tests.support import free_port
from tests.tui.conftest import (
    arequest,
    running_dashboard,
    table_rows,
    traceback_lines,
    until,
)

NOISY_APP = '''
    import sys
    from flask import Flask, request

    app = Flask(__name__)

    @app.route("/noise")
    def noise():
        sys.stdout.buffer.write(b"[bold]not bold[/] \\x1b[31mred?\\x1b[0m \\xff\\xfe end\\n")
        sys.stdout.flush()
        return "ok"

    @app.route("/raise")
    def bad():
        raise ValueError("[red]boom[/] \\x1b]0;pwned\\x07 tail")

    @app.route("/flood")
    def flood():
        out = sys.stdout
        for i in range(int(request.args["n"])):
            out.write(f"flood line {i}\\n")
        out.flush()
        return "ok"
'''


@pytest.fixture
def noisy_settings(tmp_path) -> Settings:
    (tmp_path / "noisy.py").write_text(textwrap.dedent(NOISY_APP))
    return Settings.for_tests(app="noisy", port=free_port(), cwd=tmp_path, reload=False)


async def test_markup_escapes_and_invalid_utf8_show_literally(noisy_settings):
    async with running_dashboard(noisy_settings) as (app, pilot, _sup):
        await arequest(noisy_settings.port, "/noise")
        view = app.query_one(LogView)
        line = await until(pilot, lambda: next((l for l in view.lines if "not bold" in l), None))
        assert line.startswith("[bold]not bold[/] red? ")
        assert "\x1b" not in line and "\ufffd" in line

        await pilot.press("2")
        await until(pilot, lambda: any("not bold" in view.render_line(y).text for y in range(view.size.height)))
        row = next(view.render_line(y) for y in range(view.size.height) if "not bold" in view.render_line(y).text)
        assert "[bold]not bold[/]" in row.text
        assert not any(segment.style and segment.style.bold for segment in row)

        await arequest(noisy_settings.port, "/raise")
        await until(pilot, lambda: app.state.error_count == 1)
        await pilot.press("1")
        await until(pilot, lambda: traceback_lines(app)[-1].startswith("ValueError"))
        assert traceback_lines(app)[-1] == "ValueError: [red]boom[/]  tail"
        assert table_rows(app.query_one(ErrorList))[0][1] == "ValueError"
        assert any("[red]" not in n.message for n in app._notifications)


async def test_a_flood_reaches_the_log_in_batches_bounded_and_searchable(noisy_settings):
    async with running_dashboard(noisy_settings) as (app, pilot, _sup):
        view = app.query_one(LogView)
        batches: list[int] = []
        append = view.append

        def counting(lines: list[str]) -> None:
            batches.append(len(lines))
            append(lines)

        view.append = counting  # type: ignore[method-assign]
        status, _ = await arequest(noisy_settings.port, "/flood?n=30000")
        assert status == 200
        await until(pilot, lambda: any(l.endswith("flood line 29999") for l in view.lines[-5:]), what="the last flood line")
        # It arrived while the Log tab was hidden; showing it shows the end.
        await pilot.press("2")
        await until(pilot, lambda: any("flood line 29999" in view.render_line(y).text for y in range(view.size.height)))
        # Never one write per line: 30 000 lines arrived in a handful of batches.
        assert len(batches) < 100
        assert sum(batches) >= 10_000
        assert view.line_count <= MAX_LINES

        await pilot.press("slash")
        await pilot.press(*"line 29990")
        await pilot.press("enter")
        await until(pilot, lambda: view._match is not None)
        assert view.lines[view._match - view._first].endswith("flood line 29990")
        assert app.focused is view
        await pilot.press("n")  # older match: none, says so
        await until(pilot, lambda: any("No older match" in n.message for n in app._notifications))
        # The highlighted line is on screen.
        assert any("flood line 29990" in view.render_line(y).text for y in range(view.size.height))
