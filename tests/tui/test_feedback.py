"""Every change gets a notice, whoever made it; the attach notice names the port to
connect to; the Reloads tab explains itself when empty and times a reload from
the file's write to the new code serving."""

from __future__ import annotations

import os
from pathlib import Path

from debugdash.protocol.events import AttachListening, Reload, Started, Toggles
from debugdash.tui.widgets.reloads import EMPTY_HINT, RELOADER_OFF_HINT
from tests.tui import scenes
from tests.tui.conftest import screen_text, toasts, until


def _flat(app) -> str:
    return " ".join(screen_text(app).split())


async def test_every_change_is_announced_whoever_made_it():
    app, supervisor, _clock = scenes.make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await scenes.publish(pilot, [*scenes.started(), scenes.ready()])
        app.clear_notifications()

        await pilot.press("d")
        await until(pilot, lambda: "Switched Debugger off" in toasts(app), what=lambda: toasts(app))

        # From another terminal: `debugdash toggle reloader off`, `debugdash allow ... ` by another user.
        supervisor.publish([Toggles(time=scenes.T0 + 5, debug=True, debugger=False, reloader=False, attach=False)])
        await until(pilot, lambda: "Switched Reloader off (the server restarts)" in toasts(app), what=lambda: toasts(app))
        await supervisor.grant("203.0.113.7", ttl="15m", user="alice")
        await until(
            pilot,
            lambda: "Access granted 203.0.113.7/32 may reach the debugger for 15m00s (by alice)." in toasts(app),
            what=lambda: toasts(app),
        )
        await supervisor.revoke("203.0.113.7", user="alice")
        await until(pilot, lambda: any(t.startswith("Revoked 203.0.113.7/32 (by alice).") for t in toasts(app)), what=lambda: toasts(app))


async def test_the_attach_notice_names_the_relay_port():
    app, supervisor, _clock = scenes.make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await scenes.publish(pilot, [*scenes.started(), scenes.ready()])
        supervisor.publish([AttachListening(time=scenes.T0 + 3, host="127.0.0.1", port=5678)])
        await until(pilot, lambda: "External attach Attach your debugger to 127.0.0.1:5678." in toasts(app), what=lambda: toasts(app))


async def test_the_reloads_tab_explains_itself_when_empty():
    app, supervisor, _clock = scenes.make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scenes.publish(pilot, [*scenes.started(), scenes.ready()])
        await pilot.press("3")
        await until(pilot, lambda: " ".join(EMPTY_HINT.split()) in _flat(app), what=lambda: screen_text(app))
        supervisor.publish([Toggles(time=scenes.T0 + 5, debug=True, debugger=True, reloader=False, attach=False)])
        await until(pilot, lambda: RELOADER_OFF_HINT in _flat(app), what=lambda: screen_text(app))


async def test_a_reload_is_timed_from_the_file_write_to_the_new_code_served(tmp_path: Path):
    views = tmp_path / "views.py"
    views.write_text("def checkout(): ...\n")
    os.utime(views, (scenes.T0 + 418, scenes.T0 + 418))  # saved 2 s before the reloader noticed
    app, _supervisor, _clock = scenes.make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scenes.publish(pilot, [*scenes.started(), scenes.ready()])
        await scenes.publish(pilot, [Reload(time=scenes.T0 + 420, filename=str(views), reloader="stat", pid=4243), scenes.ready(421.4, pid=4244)])
        await pilot.press("3")
        table = app.query_one("#reloads-table")
        await until(pilot, lambda: "3.40s" in _flat(app), what=lambda: screen_text(app))
        assert table.row_count == 1


async def test_each_reload_says_which_path_served_it():
    app, _supervisor, _clock = scenes.make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await scenes.publish(pilot, [*scenes.started(), scenes.ready()])
        for n, via in enumerate(("template", "spare")):
            at = 420 + 10 * n
            await scenes.publish(pilot, [
                Reload(time=scenes.T0 + at, filename="views.py", reloader="stat", pid=4243 + n),
                Started(time=scenes.T0 + at + 0.01, pid=4244 + n, command=["python"], reason="reload", via=via),
                scenes.ready(at + 0.1, pid=4244 + n),
            ])
        await pilot.press("3")
        await until(pilot, lambda: "forked from the template" in _flat(app) and "warm spare" in _flat(app), what=lambda: screen_text(app))
