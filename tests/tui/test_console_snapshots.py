"""Snapshots of the console under the traceback (issue 13) at 80x24 and 120x40.

The scene is replayed as in ``test_snapshots``; the server's answers come from a
stand-in for the session's console access (the evaluations themselves are tested
against a real server in ``test_console.py``), so that every pixel is fixed.
"""

from __future__ import annotations

import dataclasses
import time

import pytest

from debugdash.core.errors import UserInputError
from debugdash.protocol.console import EvalResult
from tests.tui import scenes
from tests.tui.test_console import type_line

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]

ANSWERS = {
    'item["sku"] in prices': EvalResult(occurrence="4244-3", link=0, frame=2, where="", value="False"),
    "sorted(prices)": EvalResult(occurrence="4244-3", link=0, frame=2, where="", value="['A-7']"),
    "print(item)": EvalResult(occurrence="4244-3", link=0, frame=2, where="", output="{'sku': 'B-12', 'qty': 2}\n"),
    'prices["B-12"]': EvalResult(
        occurrence="4244-3", link=0, frame=2, where="", raised=True,
        traceback='Traceback (most recent call last):\n  File "<console 4>", line 1, in <module>\n    prices["B-12"]\nKeyError: \'B-12\'\n',
    ),
}


class ScriptedConsole:
    """The session's console access, answering from ANSWERS."""

    async def evaluate(self, occurrence: str, code: str, **_: object) -> EvalResult:
        if code not in ANSWERS:
            raise UserInputError(f"no scripted answer for {code!r}")
        return ANSWERS[code]

    async def complete(self, occurrence: str, text: str, **_: object) -> list[str]:
        return []

    async def interrupt(self, occurrence: str, **_: object) -> bool:
        return False

    def release(self, key: object) -> None:
        pass


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("size", SIZES)
def test_console(snap_compare, size):
    app, supervisor, _ = scenes.make_app()
    supervisor.console = ScriptedConsole()  # type: ignore[assignment]
    events = scenes.running_with_errors()
    events[-2] = dataclasses.replace(events[-2], occurrence="4244-3")  # the newest KeyError

    async def run_before(pilot):
        await scenes.publish(pilot, events)
        pilot.app.clear_notifications()
        await pilot.press("i")
        await pilot.pause(0.2)
        pilot.app.query_one("#console-input").cursor_blink = False  # a blinking cursor is no fixed picture
        for line in ANSWERS:
            await type_line(pilot, line)
            await pilot.pause(0.1)
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
