"""What the app writes reaches the screen as plain text, in batches, bounded and
searchable — from a real Flask server writing real bytes."""

from __future__ import annotations

import textwrap

import pytest

from debugdash.core.settings import Settings
from debugdash.tui.widgets.errors import ErrorList
from debugdash.tui.widgets.log import MAX_LINES, LogView
from tests.support import free_port
from tests.tui import scenes
from tests.tui.conftest import (
    arequest,
    rows_on_screen,
    running_dashboard,
    table_rows,
    toasts,
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

    @app.route("/raise/<path:tag>")
    def bad(tag):
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

        # Markup in the path too: the "new error" toast shows it as typed.
        await arequest(noisy_settings.port, "/raise/[b]loud[/b]")
        await pilot.press("1")
        await until(pilot, lambda: traceback_lines(app)[-1].startswith("ValueError"))
        assert traceback_lines(app)[-1] == "ValueError: [red]boom[/] ␛]0;pwned␇ tail"
        assert table_rows(app.query_one(ErrorList))[0][1].startswith("ValueError [red]boom[/]")
        await until(pilot, lambda: "New error ValueError in GET /raise/[b]loud[/b]" in toasts(app), what=lambda: toasts(app))


async def test_a_flood_reaches_the_log_in_batches_bounded_and_searchable(noisy_settings):
    async with running_dashboard(noisy_settings) as (app, pilot, _sup):
        view = app.query_one(LogView)
        batches: list[int] = []
        append = view.append

        def counting(lines: list[str], first: int | None = None) -> None:
            batches.append(len(lines))
            append(lines, first)

        view.append = counting  # type: ignore[method-assign]
        status, _ = await arequest(noisy_settings.port, "/flood?n=30000")
        assert status == 200
        await until(pilot, lambda: any(l.endswith("flood line 29999") for l in view.lines[-5:]), what="the last flood line")
        # It arrived while the Log tab was hidden; showing it shows the end.
        await pilot.press("2")
        await until(pilot, lambda: any("flood line 29999" in view.render_line(y).text for y in range(view.size.height)))
        # Never one write per line: 30 000 lines arrived in a handful of batches.
        assert len(batches) < 100
        assert view.line_count <= MAX_LINES

        await pilot.press("slash")
        await pilot.press(*"line 29990")
        await pilot.press("enter")
        await until(pilot, lambda: current_match(view) == "flood line 29990", what=lambda: rows_on_screen(view))
        assert app.focused is view
        await pilot.press("n")  # older match: none, says so
        await until(pilot, lambda: any("No older match" in toast for toast in toasts(app)))
        assert current_match(view) == "flood line 29990"


def current_match(view: LogView) -> str | None:
    """The log row drawn as the current match: its whole line has a background of its own."""
    plain = view.rich_style.bgcolor
    for y in range(view.size.height):
        strip = view.render_line(y)
        first = next(iter(strip), None)
        if first is not None and first.text.strip() and first.style is not None and first.style.bgcolor != plain:
            return strip.text.strip()
    return None


def _flood_number(line: str) -> int:
    return int(line.rsplit(" ", 1)[1])


async def test_after_a_flood_the_log_shows_the_newest_lines_and_scrolls_back_through_the_older_ones(noisy_settings):
    async with running_dashboard(noisy_settings) as (app, pilot, sup):
        await pilot.press("2")
        view = app.query_one(LogView)
        status, _ = await arequest(noisy_settings.port, "/flood?n=50000")
        assert status == 200
        await until(pilot, lambda: any(l.endswith("flood line 49999") for l in view.lines[-5:]), what="the last flood line")
        await pilot.pause()
        rows = view.scrollable_content_region.height  # a horizontal scrollbar may take the last row
        on_screen = [view.render_line(y).text.strip() for y in range(rows)]
        flood = [_flood_number(line) for line in on_screen if line.startswith("flood line")]
        assert len(flood) >= rows - 2  # after them, only the request's own log line
        assert flood == list(range(50000 - len(flood), 50000))

        # Back to the oldest line kept: everything from there to the end, in order, nothing skipped.
        await pilot.press("home")
        await pilot.pause()
        assert view.lines == [line.text for line in sup.logs.tail(MAX_LINES)]
        numbers = [_flood_number(line) for line in view.lines if line.startswith("flood line")]
        assert numbers == list(range(numbers[0], 50000))
        assert numbers[0] < 50000 - 4 * view.size.height
        top = view.render_line(0).text.strip()
        assert top == view.lines[0]
        assert "lines" in str(app.query_one("#log-status").render())

        # Back to the end: following again, new output scrolls into view.
        await pilot.press("f")
        await arequest(noisy_settings.port, "/flood?n=3")
        await until(pilot, lambda: any(view.render_line(y).text.strip() == "flood line 2" for y in range(rows - 3, rows)))


async def test_searching_a_flood_finds_lines_older_than_the_screen(noisy_settings):
    async with running_dashboard(noisy_settings) as (app, pilot, _sup):
        await pilot.press("2")
        view = app.query_one(LogView)
        status, _ = await arequest(noisy_settings.port, "/flood?n=20000")
        assert status == 200
        await until(pilot, lambda: any(l.endswith("flood line 19999") for l in view.lines[-5:]), what="the last flood line")

        await pilot.press("slash")
        await pilot.press(*"line 12345")
        await pilot.press("enter")
        await until(pilot, lambda: current_match(view) == "flood line 12345", what=lambda: rows_on_screen(view))


async def test_output_arriving_while_the_dashboard_closes_does_not_crash_it():
    """Closing unmounts the log view before its pane's flush timer stops (seen under load)."""
    app, supervisor, _clock = scenes.make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await scenes.publish(pilot, [*scenes.started(), scenes.ready()])
        await app.query_one(LogView).remove()  # as closing does: the children go first
        supervisor.logs.append("stdout", [b"a line while closing"])
        await pilot.pause(0.3)  # the flush runs at once after a quiet spell
    # Leaving run_test re-raises whatever the app raised.
