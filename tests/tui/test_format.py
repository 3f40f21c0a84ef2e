"""The small renderings the dashboard is made of: countdowns, ages, sizes, paths,
and the plain-text traceback that `c` copies."""

from __future__ import annotations

import traceback

from debugdash.protocol.events import ExceptionInfo, Frame
from debugdash.tui import format as fmt
from debugdash.tui.widgets.traceback import traceback_text


def test_countdown_rounds_up_so_zero_means_gone():
    assert fmt.countdown(900) == "15:00"
    assert fmt.countdown(899.2) == "15:00"
    assert fmt.countdown(899) == "14:59"
    assert fmt.countdown(59.01) == "1:00"
    assert fmt.countdown(0.4) == "0:01"
    assert fmt.countdown(0) == "0:00"
    assert fmt.countdown(-3) == "0:00"
    assert fmt.countdown(8 * 3600) == "8:00:00"


def test_durations_sizes_and_paths():
    assert [fmt.duration(s) for s in (5, 75, 3725, 90000)] == ["5s", "1m15s", "1h02m", "1d01h"]
    assert fmt.size(512) == "512 B"
    assert fmt.size(48_234_496) == "46.0 MB"
    assert fmt.short_path("/srv/shop/shop/views.py", "/srv/shop") == "shop/views.py"
    assert fmt.short_path("/usr/lib/python3/flask/app.py", "/srv/shop") == "flask/app.py"


def _info_from(exc: BaseException, relation=None) -> ExceptionInfo:
    frames = [
        Frame(f.filename, f.lineno, f.name, f.line or "") for f in traceback.extract_tb(exc.__traceback__)
    ]
    return ExceptionInfo(type(exc).__name__, str(exc), frames, relation)


def _raise_chained() -> None:
    try:
        int("eighty")
    except ValueError as e:
        raise RuntimeError("the port is not a number") from e


def test_copied_traceback_reads_like_pythons_own():
    try:
        _raise_chained()
    except RuntimeError as e:
        caught = e
    chain = [_info_from(caught.__cause__), _info_from(caught, "cause")]
    text = traceback_text(chain)
    python = "".join(traceback.format_exception(caught))
    # Same lines as Python prints, except the carets Python adds under source lines.
    ours = [line for line in text.splitlines() if line.strip()]
    theirs = [line for line in python.splitlines() if line.strip() and set(line.strip()) - set("^~")]
    assert ours == theirs


def test_library_paths_keep_their_package_name() -> None:
    from debugdash.tui.format import short_path

    site = "/home/dev/.venv/lib/python3.11/site-packages/werkzeug/wrappers/response.py"
    assert short_path(site, "/srv/shop") == "werkzeug/wrappers/response.py"
    assert short_path("/usr/lib/python3/dist-packages/flask/app.py", "/srv/shop") == "flask/app.py"
    assert short_path("/usr/lib/python3.11/json/decoder.py", "/srv/shop") == "json/decoder.py"
    assert short_path("/srv/shop/views/cart.py", "/srv/shop") == "views/cart.py"
    # The project's own virtualenv lies inside the project: still named by import path.
    assert short_path("/srv/shop/.venv/lib/python3.11/site-packages/flask/app.py", "/srv/shop") == "flask/app.py"


def test_uptime_is_told_to_the_minute():
    # An idle dashboard repaints the header only when what it shows changes:
    # seconds would change it every second.
    assert [fmt.uptime(s) for s in (0, 59.9, 60, 61, 3599)] == ["<1m", "<1m", "1m", "1m", "59m"]
    assert fmt.uptime(3600 + 5 * 60 + 59) == "1h05m"
    assert fmt.uptime(3 * 86400 + 4 * 3600) == "3d04h"
