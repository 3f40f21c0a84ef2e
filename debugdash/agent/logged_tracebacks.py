"""The traceback Werkzeug's server logs for every failing request, rendered once per kind of failure.

Werkzeug's ``run_wsgi`` logs "Error on request" with
``DebugTraceback(e).render_traceback_text()``: it walks every frame, looks up
and parses source lines and position carets, and renders the text. That is the
largest single cost of a failing request, under plain ``flask run`` as under
debugdash (~260 µs of ~1 ms in a busy server, benchmarks/FINDINGS.md, error
path). An app that fails in a loop logs the same text again and again.

``install`` puts a ``DebugTraceback`` in its place (for the server's log only:
the debugger imported its own) that renders the text of a plain exception once
for everything the text depends on, and is the real thing for everything else:
the exception's type and message; each frame's code, instruction, line and
``__traceback_hide__``; the source files' ``linecache`` entries (checked on
every use, as Werkzeug does: an edited file is read again, a new entry).
Chains, groups, notes, syntax errors and a set ``sys.tracebacklimit`` always
go the usual way. The text is the same either way (tests/agent/test_logged_tracebacks.py).

Standard library only (Werkzeug is imported lazily): this runs inside someone else's server.
"""

from __future__ import annotations

import builtins
import linecache
import sys
from typing import Any

#: Rendered texts kept; all are dropped when full (an app has few kinds of failure).
LIMIT = 256

_TEXTS: dict[tuple, tuple[str, tuple]] = {}
_GROUPS = getattr(builtins, "BaseExceptionGroup", ())


def install(tbtools: Any = None) -> None:
    """Replace ``werkzeug.debug.tbtools.DebugTraceback`` (as the server imports it) with the caching one."""
    if tbtools is None:
        try:
            from werkzeug.debug import tbtools
        except ImportError:
            return
    base = getattr(tbtools, "DebugTraceback", None)
    if base is None or getattr(base, "__debugdash__", False) or not hasattr(base, "render_traceback_text"):
        return
    tbtools.DebugTraceback = _caching(base)


def _caching(base: type) -> type:
    class DebugTraceback(base):  # type: ignore[valid-type,misc]
        """``base``, built when first needed; its text from the cache when it says the same."""

        __slots__ = ("_exc", "_options", "_made")
        __debugdash__ = True

        def __init__(self, exc: BaseException, te: Any = None, *, skip: int = 0, hide: bool = True) -> None:
            self._exc = exc
            self._options = (te, skip, hide)
            self._made = False

        def __getattr__(self, name: str) -> Any:
            # Only the real traceback's own state is ever missing: build it, then answer.
            if name == "_te" and not self._made:
                self._made = True
                te, skip, hide = self._options
                base.__init__(self, self._exc, te, skip=skip, hide=hide)
                return self._te
            raise AttributeError(name)

        def render_traceback_text(self) -> str:
            found = _key(self._exc) if self._options == (None, 0, True) and not self._made else None
            if found is None:
                return base.render_traceback_text(self)
            key, entries = found
            cached = _TEXTS.get(key)
            if cached is not None:
                return cached[0]
            text = base.render_traceback_text(self)
            if len(_TEXTS) >= LIMIT:
                _TEXTS.clear()
            _TEXTS[key] = (text, entries)
            return text

    DebugTraceback.__qualname__ = base.__qualname__
    DebugTraceback.__module__ = base.__module__
    return DebugTraceback


def _key(exc: BaseException) -> tuple[tuple, tuple] | None:
    """Everything the rendered text of ``exc`` depends on (and the linecache entries it names),
    or None when it is not a plain exception."""
    try:
        if (
            exc.__cause__ is not None
            or (exc.__context__ is not None and not exc.__suppress_context__)
            or isinstance(exc, (SyntaxError, _GROUPS))
            or getattr(exc, "__notes__", None) is not None
            or getattr(sys, "tracebacklimit", None) is not None
        ):
            return None
        places = []
        files = {}
        tb = exc.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            code = frame.f_code
            if code.co_filename.endswith("codeop.py"):
                return None  # the debugger console's frames: Werkzeug looks at their namespace
            hide = frame.f_locals.get("__traceback_hide__", False)
            hash(hide)
            places.append((code, tb.tb_lasti, tb.tb_lineno, hide))
            files[code.co_filename] = None
            tb = tb.tb_next
        for filename in files:
            # What Werkzeug's walk does first: forget a file that changed since it was read.
            linecache.checkcache(filename)
            entry = linecache.cache.get(filename)
            if entry is None:
                return None  # Werkzeug reads it from the disk as it is now
            # The entry itself (kept with the text, so its id is not reused): a file read
            # again is another entry and another text. (It also tells apart the same code in
            # two files: code objects compare by value, their file left out.)
            files[filename] = entry
        return (type(exc), str(exc), tuple(places), tuple(map(id, files.values()))), tuple(files.values())
    except Exception:
        return None  # an unhashable marker, a str() that raises: the usual way
