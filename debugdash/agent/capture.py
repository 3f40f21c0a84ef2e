"""Turning a live exception into the event model's ExceptionInfo chain.

Runs on the request thread of someone else's server, right when a request
fails, so it has to be cheap and must never raise: source lines come from
linecache only, frames are capped, locals are bounded ``reprlib`` reprs, and a
``__repr__`` that raises gives ``<unrepresentable ...>``.
"""

from __future__ import annotations

import builtins
import functools
import linecache
import os
import sysconfig
from types import CodeType, TracebackType
from typing import NamedTuple

from debugdash.agent.reprs import safe_repr
from debugdash.agent.statements import statement_at
from debugdash.protocol.events import ExceptionInfo, Frame
from debugdash.protocol.redact import REDACTED, is_secret_name

MAX_FRAMES = 60
MAX_CHAIN = 10
MAX_LOCALS = 40
MAX_MESSAGE = 2000

_REPORTED = "__debugdash_reported__"


def _library_prefixes() -> tuple[str, ...]:
    prefixes = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            prefixes.add(os.path.realpath(sysconfig.get_paths()[key]))
            prefixes.add(sysconfig.get_paths()[key])
        except (KeyError, OSError):
            pass
    return tuple(p for p in prefixes if p)


def _debugdash_prefixes(*parts: str) -> tuple[str, ...]:
    # Both spellings: the agent is often imported through a symlinked package directory.
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return tuple({os.path.join(root, *parts, "") for root in (package, os.path.realpath(package))})


_LIBRARY_PREFIXES = _library_prefixes()
_DEBUGDASH_PREFIXES = _debugdash_prefixes()
#: The bundled demo is "the app" when it runs, not part of debugdash.
_DEMO_PREFIXES = _debugdash_prefixes("demo")


@functools.lru_cache(maxsize=4096)
def is_app_file(filename: str) -> bool:
    """False for the standard library, installed packages and debugdash itself."""
    if filename.startswith("<"):
        return not filename.startswith("<frozen")
    if filename.startswith(_DEBUGDASH_PREFIXES):
        return filename.startswith(_DEMO_PREFIXES)
    if "site-packages" in filename or "dist-packages" in filename:
        return False
    return not filename.startswith(_LIBRARY_PREFIXES)


#: One frame as captured at failure time: its code, line, instruction, and the
#: reprs of its locals (None for a library frame, whose locals are not kept).
Place = tuple[CodeType, int, int, "dict[str, str] | None"]


def frames_of(tb: TracebackType | None, limit: int = MAX_FRAMES) -> list[Frame]:
    """The innermost ``limit`` frames of a traceback, outermost first.

    Locals are kept for the app's frames and the innermost frame; the many
    library frames in between (Flask, Werkzeug) would multiply the cost of every
    error and bury the app's own variables.
    """
    return _frames(_places(tb, limit))


def _places(tb: TracebackType | None, limit: int = MAX_FRAMES) -> list[Place]:
    # Only what must be read now: the locals' values. Names, source lines and
    # statements are the same for every occurrence and are looked up when built.
    entries = []
    while tb is not None:
        # debugdash's own frames (the agent's wrappers) are never part of the app's story.
        if not _is_debugdash_file(tb.tb_frame.f_code.co_filename):
            entries.append((tb.tb_frame, tb.tb_lineno, tb.tb_lasti))
        tb = tb.tb_next
    del entries[:-limit]
    last = len(entries) - 1
    return [
        (frame.f_code, lineno or 0, lasti, _locals_of(frame.f_locals) if index == last or is_app_file(frame.f_code.co_filename) else None)
        for index, (frame, lineno, lasti) in enumerate(entries)
    ]


def _frames(places: list[Place]) -> list[Frame]:
    frames = []
    for code, lineno, lasti, locals_ in places:
        filename, lineno, function, source, is_app = _where(code, lineno)
        statement = statement_at(code, lasti, lineno) if locals_ is not None else None
        frames.append(
            Frame(
                filename=filename,
                lineno=lineno,
                function=function,
                source=source,
                locals=locals_ if locals_ is not None else {},
                is_app=is_app,
                statement=statement.lines if statement else [],
                statement_lineno=statement.lineno if statement else 0,
                highlight=statement.highlight if statement else [],
            )
        )
    return frames


@functools.lru_cache(maxsize=1024)
def _is_debugdash_file(filename: str) -> bool:
    return filename.startswith(_DEBUGDASH_PREFIXES) and not filename.startswith(_DEMO_PREFIXES)


def _syntax_error_frame(exc: SyntaxError) -> Frame | None:
    """Where a SyntaxError points, as a frame with its line and a caret span, like Python prints it."""
    if not exc.filename or not exc.lineno:
        return None
    text = (exc.text or linecache.getline(exc.filename, exc.lineno)).rstrip("\r\n")
    stripped = text.lstrip()
    indent = len(text) - len(stripped)
    highlight: list[int] = []
    if exc.offset:
        start = max(0, exc.offset - 1 - indent)
        end_offset = exc.end_offset if exc.end_offset and (exc.end_lineno in (None, exc.lineno)) else exc.offset + 1
        highlight = [0, start, 0, max(start + 1, end_offset - 1 - indent)]
    return Frame(
        filename=exc.filename,
        lineno=exc.lineno,
        function="<module>",
        source=stripped.strip(),
        is_app=is_app_file(exc.filename),
        statement=[stripped] if stripped else [],
        statement_lineno=exc.lineno,
        highlight=highlight if stripped else [],
    )


_WHERE: dict[tuple[CodeType, int], tuple[str, int, str, str, bool]] = {}
_WHERE_LIMIT = 4096


def _where(code: CodeType, lineno: int) -> tuple[str, int, str, str, bool]:
    # An error repeats at the same lines: name, source line and app-ness are looked up once.
    key = (code, lineno)
    found = _WHERE.get(key)
    if found is None:
        filename = code.co_filename
        found = (
            filename,
            lineno,
            getattr(code, "co_qualname", code.co_name),
            linecache.getline(filename, lineno).strip() if lineno else "",
            is_app_file(filename),
        )
        if len(_WHERE) >= _WHERE_LIMIT:
            _WHERE.clear()
        _WHERE[key] = found
    return found


def _locals_of(namespace: dict) -> dict[str, str]:
    result: dict[str, str] = {}
    try:
        items = list(namespace.items())
    except Exception:
        return result
    for name, value in items[:MAX_LOCALS]:
        name = str(name)
        # Secrets by name never leave the process, not even as a repr.
        result[name] = REDACTED if is_secret_name(name) else safe_repr(value)
    return result


def type_name(exc: BaseException) -> str:
    cls = type(exc)
    module = getattr(cls, "__module__", "builtins")
    if module in ("builtins", "__main__", None):
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"


def message_of(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:
        text = f"<unprintable {type(exc).__qualname__}>"
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


class ExceptionSnapshot(NamedTuple):
    """One exception of a chain as captured at failure time; ``build`` makes its ExceptionInfo.

    Holds what cannot be read later (the message, the locals' reprs) and code
    objects for the rest, so an occurrence kept unsent costs little to take.
    """

    type: str
    message: str
    places: list[Place]
    #: Where a SyntaxError points (after its frames), when it says.
    where: Frame | None
    relation: str | None
    notes: list[str]
    exceptions: list[ExceptionSnapshot]

    def build(self) -> ExceptionInfo:
        frames = _frames(self.places)
        if self.where is not None:
            frames.append(self.where)
        return ExceptionInfo(
            type=self.type,
            message=self.message,
            frames=frames,
            relation=self.relation,  # type: ignore[arg-type]
            notes=self.notes,
            exceptions=[inner.build() for inner in self.exceptions],
        )

    def raised_at(self) -> tuple[str, int] | None:
        """(file, line) of ``build().raised_at``, without building it."""
        if self.where is not None and self.where.is_app:
            return self.where.filename, self.where.lineno
        for code, lineno, _lasti, _locals in reversed(self.places):
            if is_app_file(code.co_filename):
                return code.co_filename, lineno
        if self.where is not None:
            return self.where.filename, self.where.lineno
        if self.places:
            return self.places[-1][0].co_filename, self.places[-1][1]
        return None


def exception_chain(exc: BaseException) -> list[ExceptionInfo]:
    """The chain ending in ``exc``, root cause first, each with its relation to the one before.

    Honours ``__suppress_context__``; stops at a cycle or after MAX_CHAIN links.
    """
    return [link.build() for link in chain_snapshot(exc)]


def chain_snapshot(exc: BaseException) -> list[ExceptionSnapshot]:
    """``exception_chain(exc)`` as it is now, left to be built later."""
    links: list[tuple[BaseException, str | None]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(links) < MAX_CHAIN:
        seen.add(id(current))
        if current.__cause__ is not None:
            relation, following = "cause", current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            relation, following = "context", current.__context__
        else:
            relation, following = None, None
        links.append((current, relation))
        current = following
    links.reverse()
    return [_snapshot(item, relation if index else None) for index, (item, relation) in enumerate(links)]


MAX_GROUP = 10
MAX_NOTES = 10
#: Exception groups exist from Python 3.11; the app's interpreter may be older.
_GROUPS = getattr(builtins, "BaseExceptionGroup", ())


def _snapshot(exc: BaseException, relation: str | None, depth: int = 0) -> ExceptionSnapshot:
    notes = getattr(exc, "__notes__", None)
    inner = getattr(exc, "exceptions", None) if isinstance(exc, _GROUPS) else None
    return ExceptionSnapshot(
        type=type_name(exc),
        message=message_of(exc),
        places=_places(exc.__traceback__),
        where=_syntax_error_frame(exc) if isinstance(exc, SyntaxError) else None,
        relation=relation,
        notes=[safe_repr(n, MAX_MESSAGE) if type(n) is not str else n[:MAX_MESSAGE] for n in notes[:MAX_NOTES]]
        if isinstance(notes, list) else [],
        exceptions=[_snapshot(e, None, depth + 1) for e in inner[:MAX_GROUP]] if inner and depth < 3 else [],
    )


def mark_reported(exc: BaseException) -> bool:
    """Mark ``exc`` as reported; False when it already was (report each exception once)."""
    if getattr(exc, _REPORTED, False):
        return False
    try:
        setattr(exc, _REPORTED, True)
    except Exception:
        pass  # an exception type that refuses attributes may be reported twice, never lost
    return True
