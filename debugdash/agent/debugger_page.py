"""Werkzeug's debugger page, rendered without asking the same question once per frame.

The page marks each frame of an app's traceback as library code or not
(``DebugFrameSummary.is_library``): for every frame of every failure Werkzeug
calls ``sysconfig.get_paths()`` (which expands the install scheme's templates
again each time) and ``os.path.realpath`` of each of its paths (a ``lstat`` per
path component). That is more than half of what a failing request costs with
the debugger on, under plain ``flask run --debug`` as under debugdash (~0.35 of
0.6 s for 200 failures in process, cProfile; benchmarks/FINDINGS.md, error
path). The paths and their real paths are the same for the life of the
process, and a file's answer is the same every time it is asked, as the
agent's own ``capture.is_app_file`` already assumes: here they are worked out
once per process and once per file. The answer, and so the page, is Werkzeug's
own (tests/agent/test_debugger_page.py compares the pages byte for byte).

Standard library only (Werkzeug is imported lazily): this runs inside someone else's server.
"""

from __future__ import annotations

import functools
import os
import sysconfig
from typing import Any

#: Distinct files remembered; an app's tracebacks go through few.
_FILES = 4096


def install(tbtools: Any = None) -> None:
    """Give ``tbtools.DebugFrameSummary.is_library`` the once-per-file answer; idempotent."""
    if tbtools is None:
        try:
            from werkzeug.debug import tbtools
        except ImportError:
            return
    summary = getattr(tbtools, "DebugFrameSummary", None)
    prop = getattr(summary, "__dict__", {}).get("is_library")
    fget = getattr(prop, "fget", None)
    if fget is None or getattr(fget, "__debugdash__", False) or not hasattr(prop, "slot_name"):
        return  # another Werkzeug than the one this was written against: leave it as it is
    # Werkzeug's cached_property, so the per-frame cache (its slot) works as before.
    setattr(summary, "is_library", type(prop)(_is_library, name="is_library"))


def _is_library(frame: Any) -> bool:
    return is_library_file(frame.filename)


_is_library.__debugdash__ = True  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=_FILES)
def is_library_file(filename: str) -> bool:
    """Werkzeug's ``is_library`` for a frame in ``filename``: under one of the install scheme's paths."""
    return filename.startswith(_prefixes())


@functools.lru_cache(maxsize=1)
def _prefixes() -> tuple[str, ...]:
    # Werkzeug's own test: each path as written and as resolved.
    paths = sysconfig.get_paths().values()
    return tuple(p for path in paths for p in (path, os.path.realpath(path)))
