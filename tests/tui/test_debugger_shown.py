"""The header says whether the debugger is really served, and if not, why."""

from __future__ import annotations

import dataclasses

from debugdash.tui.widgets.status import ToggleBar
from tests.tui import scenes
from tests.tui.conftest import arequest, plain, running_dashboard


async def test_out_of_debug_mode_the_header_says_the_debugger_is_off_and_why(demo_settings):
    settings = dataclasses.replace(demo_settings, debug=False, debugger=True)
    async with running_dashboard(settings) as (app, pilot, _sup):
        bar = plain(app.query_one(ToggleBar))
        status, body = await arequest(settings.port, "/divide")
        # What the server really does: a plain 500, no debugger page, no PIN to enter.
        assert status == 500 and "Traceback" not in body
        assert "debugger ○ off (debug mode off)" in bar, bar
        assert "PIN" not in bar


async def test_in_external_attach_mode_the_header_says_why_the_debugger_is_off():
    app, _supervisor, _clock = scenes.make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scenes.publish(pilot, scenes.attached())
        bar = plain(app.query_one(ToggleBar))
        assert "debugger ○ off (external attach on)" in bar, bar
