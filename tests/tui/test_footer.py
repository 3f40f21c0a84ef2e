"""The key bar: the same keys on every tab, rebuilt only when the keys change
(a rebuild re-mounts every key, and under an output flood it was most of what a
key press cost)."""

from __future__ import annotations

from debugdash.tui.widgets.footer import KeyFooter
from debugdash.tui.widgets.log import LogView
from tests.tui.conftest import screen_lines
from tests.tui.scenes import key_error, make_app, ready, started


def _key_bar(app) -> str:
    """The bottom row of the terminal, as drawn."""
    return screen_lines(app)[-1]


async def test_every_tab_shows_the_same_footer_and_switching_does_not_rebuild_it():
    app, supervisor, _clock = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        supervisor.publish(started())
        supervisor.publish([ready(), key_error(10)])
        await pilot.pause()
        footer = app.query_one(KeyFooter)
        widgets = list(footer.children)
        keys = _key_bar(app)
        assert "r Restart" in keys and "q Quit" in keys and "? Help" in keys

        for tab in "23451212":
            await pilot.press(tab)
            await pilot.pause()
            assert _key_bar(app) == keys
            # The same key widgets: nothing was re-mounted.
            assert list(footer.children) == widgets
        # The log's own keys are in its status line instead.
        assert isinstance(app.focused, LogView)
        assert "/ search · f follow" in "\n".join(screen_lines(app))


async def test_the_footer_follows_a_change_of_keys():
    app, supervisor, _clock = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        supervisor.publish(started())
        await pilot.pause()
        app.bind("z", "show_tab('reloads')", description="Zoom")
        app.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        bar = _key_bar(app)
        assert "z Zoom" in bar
        # Rebuilt once, not stacked: every key shows once.
        assert bar.count("Zoom") == 1 and bar.count("Restart") == 1
