"""The CLI starts the server while the dashboard is still being imported and
built (issue 15): what the supervisor published before the dashboard subscribed
is on screen all the same, and what it publishes later from outside the
dashboard's own tasks is drawn at once."""

from __future__ import annotations

import asyncio
import threading

from debugdash.tui.widgets.errors import ErrorList
from tests.tui import scenes
from tests.tui.conftest import plain, screen_text, shown_pid, table_rows, until


async def test_events_published_before_the_dashboard_subscribed_are_shown():
    app, supervisor, _clock = scenes.make_app()
    supervisor.hold_events()
    supervisor.publish([*scenes.started(), scenes.ready(pid=4243)])
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: " running " in plain(app.query_one("#status")), what=lambda: plain(app.query_one("#status")))
        assert shown_pid(app) == "4243"
        # Handed over once: nothing is held any more.
        assert supervisor.held_events() == []


async def test_what_arrives_from_outside_the_dashboard_is_drawn_at_once():
    """Events and log lines handed over from a thread (as the pipe reader does) or
    published by a task started before the dashboard (as the CLI starts the
    server) are drawn as they come, not at the next tick. No tick falls in this
    test: the ticker's interval is an hour."""
    app, supervisor, _clock = scenes.make_app()
    supervisor.ticker.interval = 3600.0
    async with app.run_test(size=(100, 30)) as pilot:
        loop = asyncio.get_running_loop()
        table = app.query_one(ErrorList)

        def from_a_thread(call) -> None:
            thread = threading.Thread(target=loop.call_soon_threadsafe, args=(call,))
            thread.start()
            thread.join()

        from_a_thread(lambda: supervisor.publish([*scenes.started(), scenes.ready()]))
        await until(pilot, lambda: " running " in plain(app.query_one("#status")), timeout=5, what=lambda: plain(app.query_one("#status")))
        for number, at in enumerate((300, 301, 302), start=1):
            from_a_thread(lambda at=at: supervisor.publish([scenes.key_error(at)]))
            await until(pilot, lambda number=number: [row[0] for row in table_rows(table)] == [str(number)], timeout=5, what=lambda: table_rows(table))
        from_a_thread(lambda: supervisor.logs.append("stdout", [b"GET /from-the-pipe 200"]))
        await pilot.press("2")
        await until(pilot, lambda: "GET /from-the-pipe 200" in screen_text(app), timeout=5, what=lambda: screen_text(app))
