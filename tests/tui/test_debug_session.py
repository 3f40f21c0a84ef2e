"""The attached IDE's debug session on the dashboard: where it holds the app
stopped, the reload that waits for it, and `r` asking before it loses the
paused request."""

from __future__ import annotations

from debugdash.protocol.session_events import DebugPaused, ReloadHeld
from debugdash.tui.screens.confirm import ConfirmScreen
from tests.tui.conftest import children, plain, running_dashboard, screen_text, shown_pid, toasts, until
from tests.tui.scenes import T0, attached, make_app, publish

VIEWS = "/srv/shop/shop/views.py"


def paused(at: float = 700) -> DebugPaused:
    return DebugPaused(
        time=T0 + at, paused=True, thread_id=7, thread="Thread-3 (process_request_thread)",
        filename=VIEWS, line=42, function="total", reason="breakpoint",
    )


async def test_the_banner_and_attach_tab_say_where_it_is_paused_and_that_a_reload_waits() -> None:
    app, _, _ = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await publish(pilot, [*attached(), paused()])
        banner = plain(app.query_one("#banner"))
        assert "paused at views.py:42 in total() [Thread-3 (process_request_thread)]" in banner
        assert "reload pending" not in banner

        await publish(pilot, [ReloadHeld(time=T0 + 710, filename=VIEWS, pid=4243)])
        banner = plain(app.query_one("#banner"))
        assert "reload pending — continue to apply (views.py saved; r forces it)" in banner
        assert "paused at views.py:42" in plain(app.query_one("#attach-body"))

        await publish(pilot, [DebugPaused(time=T0 + 720, paused=False)])
        assert app.query_one("#banner").display and "paused at" not in plain(app.query_one("#banner"))
        assert "reload pending" in plain(app.query_one("#banner")), "until the reload happens"


async def test_r_while_paused_asks_first_and_n_keeps_the_server() -> None:
    app, _, _ = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await publish(pilot, [*attached(), paused()])
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        assert "Restart anyway? The paused request is lost" in screen_text(app)
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert not any("Restarting" in toast for toast in toasts(app))


async def test_r_while_paused_then_y_restarts(demo_settings) -> None:
    async with running_dashboard(demo_settings) as (app, pilot, sup):
        first_pid = shown_pid(app)
        sup.publish([paused()])  # as the attach hub publishes it
        await until(pilot, lambda: "paused at views.py:42" in plain(app.query_one("#banner")))
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        assert shown_pid(app) == first_pid, "nothing happens before the answer"
        await pilot.press("y")
        await until(pilot, lambda: shown_pid(app) not in (None, first_pid), what="restarted")
        assert not app.query_one("#banner").display, "the new worker is not paused"
        assert children()
