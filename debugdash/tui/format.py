"""Short, fixed-width renderings of times, sizes and paths for the dashboard."""

from __future__ import annotations

import os
import re
import time


def countdown(seconds: float) -> str:
    """``14:59`` or ``1:02:03``; never negative; rounds up, so 0:00 means "gone"."""
    whole = max(0, int(-(-seconds // 1)))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def duration(seconds: float) -> str:
    """A compact age: ``45s``, ``3m12s``, ``2h05m``, ``3d04h``."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def uptime(seconds: float) -> str:
    """The server's age to the minute: ``<1m``, ``3m``, ``2h05m``, ``3d04h``.

    To the second it changed every second, and the header line had to be
    repainted every second: on an idle dashboard that repaint was most of its
    CPU. When the server restarted is told by the Reloads tab to the
    millisecond; here "<1m" is enough to see that it just did.
    """
    whole = max(0, int(seconds))
    if whole < 60:
        return "<1m"
    if whole < 3600:
        return f"{whole // 60}m"
    return duration(whole)


def seconds(value: float) -> str:
    """Reload times: ``0.42s``, ``12.3s``."""
    return f"{value:.2f}s" if value < 10 else f"{value:.1f}s"


def clock_time(wall: float) -> str:
    """Local time of day, ``14:03:27``."""
    return time.strftime("%H:%M:%S", time.localtime(wall))


def size(num_bytes: int) -> str:
    value = float(num_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


#: Where installed packages, then the standard library, live: what follows is the import path.
_LIBRARY_DIRS = (re.compile(r"/(?:site|dist)-packages/"), re.compile(r"/lib/python\d+\.\d+/"))


def short_path(path: str, root: str | None = None) -> str:
    """The path relative to ``root`` when inside it; for a library file the path
    it is imported by (``werkzeug/wrappers/response.py``); else the last two parts."""
    if not path:
        return "?"
    posix = path.replace("\\", "/")
    # Installed packages first: a project's own .venv lies inside the project too.
    for library in _LIBRARY_DIRS:
        found = list(library.finditer(posix))
        if found:
            return posix[found[-1].end() :]
    root = root or os.getcwd()
    try:
        relative = os.path.relpath(path, root)
    except ValueError:
        relative = path
    if not relative.startswith(".."):
        return relative
    parts = posix.rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) > 1 else path
