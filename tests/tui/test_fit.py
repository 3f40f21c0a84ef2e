"""80x24, the smallest terminal people use: the key bar keeps ? Help and q Quit, and
the header breaks between values, never inside one."""

from __future__ import annotations

import pytest

from tests.tui import scenes
from tests.tui.conftest import screen_lines


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_key_bar_and_the_header_fit(size):
    app, supervisor, _clock = scenes.make_app()
    async with app.run_test(size=size) as pilot:
        await scenes.publish(pilot, scenes.running_with_errors())
        lines = screen_lines(app)
        bar = lines[-1]
        assert "? Help" in bar and "q Quit" in bar and "r Restart" in bar, bar
        header = lines[:3]
        # Every value whole on one row: "46.0 MB" and "3 thr" are never split.
        for value in ("http://127.0.0.1:5000", "pid 4244", "up 5m", "cpu 2.5%", "46.0 MB", "3 thr", "PIN 493-102-877"):
            assert any(value in line for line in header), (value, header)
        assert all(len(line) <= size[0] for line in lines)
