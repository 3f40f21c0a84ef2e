"""Werkzeug's debugger page, rendered without doing the same work once per frame or twice per failure.

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

The debugger also formats each failure's traceback text twice (the page's
plain-text view, then the server's log) and again for every repeat: the text
is formatted once per kind of failure, keyed as the server log's own
(``logged_tracebacks``); ~55 of ~370 µs of the traceback work per failure in
process.

Standard library only (Werkzeug is imported lazily): this runs inside someone else's server.
"""

from __future__ import annotations

import functools
import os
import sysconfig
import weakref
from typing import Any

from debugdash.agent.logged_tracebacks import _key

#: Distinct files remembered; an app's tracebacks go through few.
_FILES = 4096


class ReleasingPage:
    """For a ``DebuggedApplication`` subclass: a failure's page is let go when its request ends.

    The debugger keeps every failure's frames for its console, and a kept frame
    keeps its callers (``f_back``), the debugger's own among them, whose locals
    are the page and the response: twice the page's size, per failure, for the
    life of the process (under plain ``flask run --debug`` too). That frame is
    never shown nor offered a console (the debugger skips it), so its locals
    are cleared once it has answered.
    """

    def debug_application(self, environ: dict, start_response: Any) -> Any:
        answer = super().debug_application(environ, start_response)  # type: ignore[misc]
        frame = answer.gi_frame
        try:
            yield from answer
        finally:
            try:
                frame.clear()
            except RuntimeError:
                pass  # still running (never, once it has answered): left as it is


def install(tbtools: Any = None, debug: Any = None) -> None:
    """Give ``tbtools.DebugFrameSummary.is_library`` the once-per-file answer, and the
    debugger (``debug.DebugTraceback``, the name it renders with) its text once per kind
    of failure; idempotent."""
    if tbtools is None or debug is None:
        try:
            from werkzeug import debug
            from werkzeug.debug import tbtools
        except ImportError:
            return
    base = getattr(debug, "DebugTraceback", None)
    if base is not None and not getattr(base, "__debugdash__", False) and "_te" in getattr(base, "__slots__", ()):
        debug.DebugTraceback = _sharing_text(base)
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


#: Formatted tracebacks kept, by everything their text depends on; all are dropped when full.
_TEXTS = 256
_lines: dict[tuple, tuple[list[str], tuple]] = {}


def _sharing_text(base: type) -> type:
    class DebugTraceback(base):  # type: ignore[valid-type,misc]
        """``base`` whose text is formatted once per kind of failure.

        The debugger formats the same traceback twice for every failure (the page's
        plain-text view, then the server's log) and again for each repeat of it.
        The key is the server log's (``logged_tracebacks``: type, message, each
        frame's code, instruction, line and hide marker, the files' linecache
        entries), taken before Werkzeug reads the files; anything it does not
        cover (chains, groups, notes, syntax errors) is formatted as before.
        """

        __slots__ = ()
        __debugdash__ = True

        def __init__(self, exc: BaseException, te: Any = None, *, skip: int = 0, hide: bool = True) -> None:
            found = _key(exc) if te is None else None
            base.__init__(self, exc, te, skip=skip, hide=hide)
            if found is not None:
                _share_format(self._te, (skip, hide, found[0]), found[1])

    DebugTraceback.__qualname__ = base.__qualname__
    DebugTraceback.__module__ = base.__module__
    return DebugTraceback


def _share_format(te: Any, key: tuple, entries: tuple) -> None:
    """Make ``te.format()`` (the whole chain, as both callers ask) give the kept lines."""
    kept = _lines.get(key)
    if kept is None:
        if len(_lines) >= _TEXTS:
            _lines.clear()
        # The linecache entries are kept with the text, so their ids (in the key) are not reused.
        kept = _lines[key] = (list(te.format()), entries)
    # Through a weak reference: a closure over ``te`` kept on ``te`` would make every
    # failure's traceback a reference cycle, left for the garbage collector.
    te.format = functools.partial(_format, kept[0], weakref.ref(te))


def _format(lines: list[str], te: Any, *, chain: bool = True, _ctx: Any = None) -> Any:
    if chain and _ctx is None:
        return iter(lines)
    owner = te()
    return type(owner).format(owner, chain=chain, _ctx=_ctx)
