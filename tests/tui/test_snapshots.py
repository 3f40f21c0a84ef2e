"""Snapshot tests of every main screen at 80x24 and 120x40 (pytest-textual-snapshot).

Deterministic: a frozen monotonic clock, a fixed wall clock and time zone, and
events replayed through the real Supervisor's ``publish``. Update the stored
images with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and look at
snapshot_report.html before committing them.
"""

from __future__ import annotations

import time

import pytest

from debugdash.tui.widgets.traceback import TracebackView
from tests.tui import scenes
from tests.tui.conftest import screen_text, until

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("size", SIZES)
def test_starting(snap_compare, size):
    app, _, _ = scenes.make_app()

    async def run_before(pilot):
        await scenes.publish(pilot, scenes.started())

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_running_with_errors(snap_compare, size):
    app, _, _ = scenes.make_app()

    async def run_before(pilot):
        await scenes.publish(pilot, scenes.running_with_errors())

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_traceback_detail(snap_compare, size):
    app, _, _ = scenes.make_app()

    async def run_before(pilot):
        await scenes.publish(pilot, scenes.running_with_errors())
        await pilot.press("down")  # the chained RuntimeError group
        await pilot.pause(0.2)
        pilot.app.query_one(TracebackView).focus()
        await pilot.press("enter")  # its raising frame's locals
        # Dismiss the "new error" toast so the traceback is fully visible.
        pilot.app.clear_notifications()
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_crashed(snap_compare, size):
    app, _, _ = scenes.make_app()

    async def run_before(pilot):
        await scenes.publish(pilot, scenes.crashed())

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_remote_access_countdown(snap_compare, size):
    app, supervisor, clock = scenes.make_app()

    async def run_before(pilot):
        await scenes.publish(pilot, [*scenes.started(), scenes.ready()])
        await supervisor.grant("203.0.113.7", what="debugger", ttl="15m")
        await supervisor.grant("198.51.100.0/24", what="both", ttl="2m")
        await pilot.press("4")
        await until(pilot, lambda: "2:00" in screen_text(pilot.app), what="both grants listed")
        clock.advance(75)  # the /24 is now in its last minute
        pilot.app.clear_notifications()
        # The countdown redraws on its own tick: wait for it to show the moved clock.
        await until(pilot, lambda: "0:45" in screen_text(pilot.app) and "13:45" in screen_text(pilot.app), what="the countdown to move")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare, size):
    app, _, _ = scenes.make_app()

    async def run_before(pilot):
        await scenes.publish(pilot, [*scenes.started(), scenes.ready()])
        await pilot.press("question_mark")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_grant_modal(snap_compare, size):
    app, _, _ = scenes.make_app()

    async def run_before(pilot):
        await scenes.publish(pilot, [*scenes.started(), scenes.ready()])
        await pilot.press("g")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_attach_panel(snap_compare, size):
    app, _, _ = scenes.make_app()

    async def run_before(pilot):
        await scenes.publish(pilot, scenes.attached())
        await pilot.press("5")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def _requests_scene(pilot):
    app = pilot.app
    await scenes.publish(pilot, [*scenes.running_with_errors(), *scenes.request_traffic(app.sup), *scenes.refusals()])
    app.clear_notifications()


@pytest.mark.parametrize("size", SIZES)
def test_requests_tab(snap_compare, size):
    """The failed POST highlighted: its headers and form with every secret redacted."""
    app, _, _ = scenes.make_app()

    async def run_before(pilot):
        await _requests_scene(pilot)
        await pilot.press("6", "down")
        await until(pilot, lambda: "Authorization: [redacted]" in screen_text(pilot.app))
        pilot.app.query_one("#request-detail").focus()
        await pilot.press("pagedown")  # down to the form and the traceback
        await pilot.pause(0.2)
        shown = screen_text(pilot.app)
        assert "[redacted]" in shown and not any(secret in shown for secret in (scenes.SECRET_TOKEN, scenes.SECRET_PASSWORD, scenes.SECRET_KEY))

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_requests_filtered(snap_compare, size):
    app, _, _ = scenes.make_app()

    async def run_before(pilot):
        await _requests_scene(pilot)
        await pilot.press("6", "slash", *"4xx 5xx", "enter")  # Enter: back to the list (no blinking cursor)
        await until(pilot, lambda: "2 of 7 match" in screen_text(pilot.app) and "Authorization: [redacted]" in screen_text(pilot.app))
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_replay_question(snap_compare, size):
    app, _, _ = scenes.make_app()

    async def run_before(pilot):
        await _requests_scene(pilot)
        await pilot.press("6", "down")
        await until(pilot, lambda: "Authorization: [redacted]" in screen_text(pilot.app))
        await pilot.press("R")
        await until(pilot, lambda: "Replay POST /checkout?" in screen_text(pilot.app))
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_errors_verified_after_reload(snap_compare, size):
    app, _, _ = scenes.make_app()

    async def run_before(pilot):
        await _requests_scene(pilot)
        await scenes.publish(pilot, scenes.verified(fixed=True))
        pilot.app.clear_notifications()
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_refused_inbox(snap_compare, size):
    app, _, _ = scenes.make_app()

    async def run_before(pilot):
        await _requests_scene(pilot)
        await pilot.press("4")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
@pytest.mark.parametrize("size", SIZES)
def test_debug_session_paused(snap_compare, size):
    app, _, _ = scenes.make_app()

    async def run_before(pilot):
        await scenes.publish(pilot, scenes.paused_with_a_save_waiting())
        await pilot.press("5")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
