"""The CLI starts the server while the dashboard is still being imported and
built (issue 15): what the supervisor published before the dashboard subscribed
is on screen all the same."""

from __future__ import annotations

from tests.tui import scenes
from tests.tui.conftest import plain, shown_pid, until


async def test_events_published_before_the_dashboard_subscribed_are_shown():
    app, supervisor, _clock = scenes.make_app()
    supervisor.hold_events()
    supervisor.publish([*scenes.started(), scenes.ready(pid=4243)])
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: " running " in plain(app.query_one("#status")), what=lambda: plain(app.query_one("#status")))
        assert shown_pid(app) == "4243"
        # Handed over once: nothing is held any more.
        assert supervisor.held_events() == []
