"""The error list: each row says what went wrong and where; groups can be cleared;
errors from code that has been reloaded since are marked; the "New error" toast
leaves the traceback's last line readable."""

from __future__ import annotations

from dataclasses import replace

from debugdash.protocol.events import ExceptionInfo, Frame, Reload, RequestErrorRepeat
from debugdash.tui.widgets.errors_pane import NO_ERRORS
from tests.tui import scenes
from tests.tui.conftest import rows_on_screen, screen_lines, screen_text, toasts, until


def _rows(app) -> list[str]:
    return [row for row in rows_on_screen(app.query_one("#errors-table"))[1:] if row.strip()]


async def test_each_row_shows_the_message_beside_the_type_and_place():
    app, _supervisor, _clock = scenes.make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await scenes.publish(pilot, scenes.running_with_errors())
        rows = _rows(app)
        assert "KeyError 'B-12'" in rows[0] and "shop/views.py:41" in rows[0], rows
        assert "RuntimeError the configured port" in rows[1] and "shop/config.py:14" in rows[1], rows


async def test_clear_one_group_then_all_with_keys():
    app, _supervisor, _clock = scenes.make_app()
    async with app.run_test(size=(100, 32), notifications=True) as pilot:
        await scenes.publish(pilot, scenes.running_with_errors())
        app.clear_notifications()
        await pilot.press("delete")
        await until(pilot, lambda: len(_rows(app)) == 1, what=lambda: _rows(app))
        assert "RuntimeError" in _rows(app)[0]
        assert "Cleared KeyError at shop/views.py:41." in toasts(app)
        assert "RuntimeError: the configured port is not a number" in screen_text(app)
        await pilot.press("shift+delete")
        await until(pilot, lambda: NO_ERRORS in screen_text(app).replace("\n", " ") or NO_ERRORS[:40] in screen_text(app), what=lambda: screen_text(app))
        assert "Cleared 1 error group." in toasts(app)
        # A new occurrence brings its group back, counted afresh.
        await scenes.publish(pilot, [scenes.key_error(800)])
        assert _rows(app)[0].split()[:2] == ["1", "KeyError"], _rows(app)


async def test_errors_from_before_a_reload_are_marked_until_they_happen_again():
    app, _supervisor, _clock = scenes.make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await scenes.publish(pilot, [*scenes.started(), scenes.ready(), scenes.key_error(300), scenes.chained_error(310)])
        assert not any("before reload" in row for row in _rows(app))
        await scenes.publish(pilot, [Reload(time=scenes.T0 + 420, filename="/srv/shop/shop/views.py", reloader="stat", pid=4243), scenes.ready(421.4, pid=4244)])
        assert all("before reload" in row for row in _rows(app)), _rows(app)
        await scenes.publish(pilot, [scenes.key_error(700)])
        rows = _rows(app)
        assert "KeyError" in rows[0] and "before reload" not in rows[0], rows
        assert "RuntimeError" in rows[1] and "before reload" in rows[1], rows


def _deep_error(at: float) -> object:
    frames = [
        Frame(f"/srv/shop/shop/layer{n}.py", 10 + n, f"step{n}", f"return step{n + 1}(order, prices)", {})
        for n in range(6)
    ]
    message = "'a-rather-long-sku-name-that-reaches-the-right-half-of-the-screen'"
    chain = [ExceptionInfo(type="KeyError", message=message, frames=frames)]
    return replace(scenes.key_error(at), chain=chain)


async def test_the_new_error_toast_leaves_the_tracebacks_last_line_readable():
    app, _supervisor, _clock = scenes.make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await scenes.publish(pilot, [*scenes.started(), scenes.ready(), _deep_error(300)])
        await pilot.pause(0.3)
        assert any(toast.startswith("New error") for toast in toasts(app))
        last = "KeyError: 'a-rather-long-sku-name-that-reaches-the-right-half-of-the-screen'"
        assert any(line.strip() == last for line in screen_lines(app)), screen_text(app)


async def test_a_burst_of_ten_thousand_shows_its_exact_count_and_its_newest_occurrence():
    app, _supervisor, _clock = scenes.make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        first = replace(scenes.key_error(300), pid=4243, count=1)
        newest = replace(scenes.key_error(310), pid=4243, count=10_000, path="/checkout/10000")
        frame = first.exception.raised_at
        repeat = RequestErrorRepeat(time=scenes.T0 + 305, type=first.exception.type, filename=frame.filename, lineno=frame.lineno,
                                    count=6_000, method="POST", path="/checkout/6000", remote_addr="127.0.0.1", pid=4243)
        await scenes.publish(pilot, [*scenes.started(), scenes.ready(), first, repeat, newest])
        await until(pilot, lambda: _rows(app) and _rows(app)[0].split()[0] == "10000", what=lambda: _rows(app))
        # A count of 10,000 is shown whole, not cut to "1000"; the traceback is the newest's.
        assert "/checkout/10000" in screen_text(app)
