"""The Log tab says when older lines have left the ring, counts search matches,
and saves the whole log to a file only the user can read."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from tests.tui import scenes
from tests.tui.test_palette import run_command
from tests.tui.conftest import screen_text, toasts, until


def _status(app) -> str:
    return next(line for line in screen_text(app).splitlines() if " lines" in line and ("search" in line))


async def test_dropped_lines_are_counted_and_search_counts_matches():
    app, supervisor, _clock = scenes.make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await scenes.publish(pilot, [*scenes.started(), scenes.ready()])
        for start in range(0, 22_001, 1000):
            supervisor.logs.append("stdout", [f"GET /item/{n} 200".encode() for n in range(start, min(start + 1000, 22_001))])
        await pilot.press("2")
        await until(pilot, lambda: "older lines dropped" in screen_text(app), what=lambda: screen_text(app))
        assert "10,000 lines · 12,001 older lines dropped" in _status(app), _status(app)

        await pilot.press("slash", *"/item/2100")
        # /item/2100 itself was dropped; /item/21000 ... /item/21009 are held.
        await until(pilot, lambda: "10 matches" in _status(app), what=lambda: _status(app))


async def test_save_writes_the_whole_neutralised_log_readable_by_the_user_only(tmp_path: Path):
    app, supervisor, _clock = scenes.make_app()
    app._root = str(tmp_path)  # the session's folder: where the file goes
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await scenes.publish(pilot, [*scenes.started(), scenes.ready()])
        supervisor.logs.append("stderr", [b"first line", b"\x1b[31mred\x1b[0m \x1b]0;title\x07 end", b"last line"])
        await pilot.press("2")
        await until(pilot, lambda: "3 lines" in screen_text(app))
        await pilot.press("s")
        toast = await until(pilot, lambda: next((t for t in toasts(app) if t.startswith("Log saved")), None))
        match = re.search(r"3 lines written to (\S+) ", toast)
        assert match, toast
        path = Path(match.group(1))
        assert path.parent == tmp_path
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        text = path.read_text()
        assert text.startswith("first line\n") and text.endswith("last line\n")
        assert "\x1b" not in text and "\x07" not in text

        # The same from the palette, on any tab: a second file, not the first overwritten.
        await pilot.press("1")
        app.clear_notifications()
        await run_command(pilot, "Save the log to a file")
        toast = await until(pilot, lambda: next((t for t in toasts(app) if t.startswith("Log saved")), None))
        second = Path(re.search(r"written to (\S+) ", toast).group(1))
        assert second != path and second.read_text() == text
