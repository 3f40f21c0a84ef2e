"""Which error the traceback pane shows: the newest, unless the user chose another.

Events are replayed through the real Supervisor's publish, one batch at a time
with the screen drawn in between — the order that made the keys test flaky when
the machine happened to be fast enough to draw between two requests.
"""

from __future__ import annotations

from dataclasses import replace

from debugdash.core.state import SessionState
from tests.tui import scenes
from tests.tui.conftest import (
    rows_on_screen,
    screen_text,
    table_rows,
    traceback_lines,
    until,
)


def _heading(app) -> str:
    return traceback_lines(app)[0]


async def _publish_drawn(pilot, app, events: list) -> None:
    """Publish, then wait until the error table shows the newest error."""
    newest = events[-1]
    app.sup.publish(events)
    table = app.query_one("#errors-table")
    await until(pilot, lambda: newest.chain[-1].type in "".join(rows_on_screen(table)[1:2]), what=lambda: f"the newest error drawn: cells {table_rows(table)}, drawn {rows_on_screen(table)[:4]}, size {table.size}, scroll {table.scroll_offset}, cursor {table.cursor_coordinate}")


async def test_the_newest_error_is_shown_while_the_user_has_not_moved_the_highlight():
    app, _, _ = scenes.make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await _publish_drawn(pilot, app, [*scenes.started(), scenes.ready(), scenes.key_error(300)])
        await until(pilot, lambda: _heading(app).startswith("POST /checkout"), what="the first error")

        # A new group, drawn after the first one was on screen: it takes the highlight.
        await _publish_drawn(pilot, app, [scenes.chained_error(600)])
        await until(pilot, lambda: _heading(app).startswith("GET /status"), what="the newest error's traceback")
        assert "RuntimeError: the configured port is not a number" in screen_text(app)

        # A new occurrence of the older group makes it the newest again.
        await _publish_drawn(pilot, app, [scenes.key_error(700)])
        await until(pilot, lambda: _heading(app).startswith("POST /checkout") and "22:25:00" in _heading(app))


async def test_once_the_user_moves_the_highlight_it_stays_on_their_choice():
    app, _, _ = scenes.make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await _publish_drawn(pilot, app, [*scenes.started(), scenes.ready(), scenes.key_error(300)])
        await _publish_drawn(pilot, app, [scenes.chained_error(600)])
        await until(pilot, lambda: _heading(app).startswith("GET /status"))

        await pilot.press("down")  # the user picks the KeyError group
        await until(pilot, lambda: _heading(app).startswith("POST /checkout"), what="the chosen group's traceback")

        # Newer errors of another kind arrive, and push the chosen row down: it stays chosen.
        await _publish_drawn(pilot, app, [scenes.chained_error(650)])
        other = replace(scenes.key_error(660), path="/cart", chain=scenes.chained_error(0).chain[:1])
        await _publish_drawn(pilot, app, [other])
        table = app.query_one("#errors-table")
        assert table.row_count == 3
        assert _heading(app).startswith("POST /checkout")
        highlighted = rows_on_screen(table)[1 + table.cursor_row]  # the header is the first row
        assert "KeyError" in highlighted

        # Back on the top row, the user follows the newest again.
        await pilot.press("up", "up")
        await until(pilot, lambda: _heading(app).startswith("POST /cart"), what=lambda: (_heading(app), table.cursor_row, app.focused, screen_text(app)))
        await _publish_drawn(pilot, app, [scenes.chained_error(700)])
        await until(pilot, lambda: _heading(app).startswith("GET /status"), what="the newest again")


async def test_a_wider_error_drawn_before_the_table_settles_is_redrawn_in_full():
    """On a busy machine the screen can be drawn between the rows changing and the
    table measuring them; the longer name must not stay cut at the old width."""
    app, _, _ = scenes.make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await _publish_drawn(pilot, app, [*scenes.started(), scenes.ready(), scenes.key_error(300)])
        table = app.query_one("#errors-table")
        state = SessionState()
        state.apply_all([scenes.key_error(300), scenes.chained_error(600)])
        table.show(state.error_groups)
        rows_on_screen(table)  # a draw before the table is next idle
        await until(pilot, lambda: "RuntimeError the configured port is not a number  shop/config.py:14" in rows_on_screen(table)[1], what=lambda: rows_on_screen(table)[:3])
