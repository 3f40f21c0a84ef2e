"""Noticing that the app's files changed, for restarting after a crash.

While the server runs, its own reloader watches. Once it has crashed nothing
does, so the supervisor polls the project's source files itself: a few hundred
stat calls every half second, only while crashed.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

POLL_SECONDS = 0.5
WATCHED_SUFFIXES = (".py", ".html", ".jinja", ".jinja2", ".j2", ".toml", ".cfg", ".ini", ".env", ".flaskenv")
SKIPPED_DIRS = {"node_modules", "__pycache__", "site-packages", "venv", "env", "build", "dist"}
#: Enough for any app; a home directory started by mistake must not cost minutes.
MAX_FILES = 5000


class FileWatcher:
    def __init__(self, root: Path, extra: list[Path] | None = None) -> None:
        self.root = root
        self.extra = extra or []

    def snapshot(self) -> dict[str, float]:
        found: dict[str, float] = {}
        for path in self.extra:
            found[str(path)] = _mtime(str(path))
        for directory, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS]
            for name in files:
                if name.endswith(WATCHED_SUFFIXES) or name in (".env", ".flaskenv"):
                    path = os.path.join(directory, name)
                    found[path] = _mtime(path)
                    if len(found) >= MAX_FILES:
                        return found
        return found

    async def changed(self, since: float | None = None) -> str:
        """Wait until a watched file is added, removed or modified; return its path.

        With ``since`` (a wall-clock time), a file modified after it counts as
        changed at once: a fix saved while the server was still failing is not lost.
        """
        before = await asyncio.to_thread(self.snapshot)
        if since is not None:
            for path, mtime in before.items():
                if mtime >= since:
                    return path
        while True:
            await asyncio.sleep(POLL_SECONDS)
            after = await asyncio.to_thread(self.snapshot)
            for path in before.keys() | after.keys():
                if before.get(path) != after.get(path):
                    return path
            before = after


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return -1.0
