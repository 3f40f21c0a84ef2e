"""The key bar: the same keys on every tab, rebuilt only when the keys change
(a rebuild re-mounts every key, and under an output flood it was most of what a
key press cost)."""

from __future__ import annotations

from textual.widgets._footer import FooterKey

from debugdash.tui.widgets.footer import KeyFooter
from debugdash.tui.widgets.log import LogView
from tests.tui.scenes import key_error, make_app, ready, started


def _keys(footer: KeyFooter) -> list[tuple[str, str]]:
    return [(key.key, key.description) for key in footer.query(FooterKey)]


async def test_every_tab_shows_the_same_footer_and_switching_does_not_rebuild_it():
    app, supervisor, _clock = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        supervisor.publish(started())
        supervisor.publish([ready(), key_error(10)])
        await pilot.pause()
        footer = app.query_one(KeyFooter)
        widgets = list(footer.query(FooterKey))
        keys = _keys(footer)
        assert ("r", "Restart") in keys and ("q", "Quit") in keys and ("question_mark", "Help") in keys

        for tab in "23451212":
            await pilot.press(tab)
            await pilot.pause()
            assert _keys(footer) == keys
            assert list(footer.query(FooterKey)) == widgets
        # The log's own keys are in its status line instead.
        assert isinstance(app.focused, LogView)
        assert "/ search · f follow" in str(app.query_one("#log-status").render())


async def test_the_footer_follows_a_change_of_keys():
    app, supervisor, _clock = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        supervisor.publish(started())
        await pilot.pause()
        footer = app.query_one(KeyFooter)
        app.bind("z", "show_tab('reloads')", description="Zoom")
        app.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        assert ("z", "Zoom") in _keys(footer)
        assert len(footer.query(FooterKey)) == len(set(_keys(footer)))  # rebuilt once, not stacked
