"""Where in the source a frame failed: the whole statement, and the part of it
that raised (Python 3.11's instruction positions), the way the best traceback
renderers show it.

Looked up once per code position (an error repeats at the same place) from
linecache and a parse of the file, both cached; never raises.
"""

from __future__ import annotations

import ast
import linecache
import textwrap
from types import CodeType
from typing import NamedTuple

MAX_STATEMENT_LINES = 12


class Statement(NamedTuple):
    lines: list[str]
    lineno: int
    #: [first line, column, last line, end column] within ``lines``; [] for all of it.
    highlight: list[int]


_NONE = Statement([], 0, [])
_FOUND: dict[tuple[CodeType, int], Statement] = {}
_TREES: dict[str, tuple[int, list[tuple[int, int]]]] = {}
_LIMIT = 2048


def statement_at(code: CodeType, lasti: int, lineno: int) -> Statement:
    """The statement of ``code`` running instruction ``lasti`` (at ``lineno``)."""
    key = (code, lasti)
    found = _FOUND.get(key)
    if found is None:
        try:
            found = _statement(code, lasti, lineno)
        except Exception:
            found = _NONE
        if len(_FOUND) >= _LIMIT:
            _FOUND.clear()
        _FOUND[key] = found
    return found


def _statement(code: CodeType, lasti: int, lineno: int) -> Statement:
    source = linecache.getlines(code.co_filename)
    if not source or not lineno:
        return _NONE
    start, end, col, end_col = _position(code, lasti, lineno)
    first, last = _enclosing(code.co_filename, source, start, end)
    last = min(last, first + MAX_STATEMENT_LINES - 1)
    raw = [line.rstrip("\r\n") for line in source[first - 1 : last]]
    lines = textwrap.dedent("\n".join(raw)).split("\n")
    indent = len(raw[0]) - len(lines[0]) if raw and lines else 0
    highlight: list[int] = []
    if col is not None and end_col is not None and first <= start <= end <= last:
        highlight = [start - first, max(0, col - indent), end - first, max(0, end_col - indent)]
        # Nothing to point at when the failing part is the whole statement.
        if highlight[:2] == [0, len(lines[0]) - len(lines[0].lstrip())] and highlight[2:] == [
            len(lines) - 1, len(lines[-1].rstrip())
        ]:
            highlight = []
    return Statement(lines, first, highlight)


def _position(code: CodeType, lasti: int, lineno: int) -> tuple[int, int, int | None, int | None]:
    positions = getattr(code, "co_positions", None)  # Python 3.11 and newer
    if lasti >= 0 and positions is not None:
        for index, (start, end, col, end_col) in enumerate(positions()):
            if index == lasti // 2:
                if start is not None and end is not None:
                    return start, end, col, end_col
                break
    return lineno, lineno, None, None


def _enclosing(filename: str, source: list[str], start: int, end: int) -> tuple[int, int]:
    """First and last line of the smallest statement holding lines ``start``..``end``.

    A compound statement (if, for, with, def, ...) counts up to its body: its
    header is the statement.
    """
    holding = [(last - first, first, last) for first, last in _spans(filename, source) if first <= start and end <= last]
    if not holding:
        return start, end
    _size, first, last = min(holding)
    return first, last


def _spans(filename: str, source: list[str]) -> list[tuple[int, int]]:
    cached = _TREES.get(filename)
    fingerprint = hash(tuple(source))
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    spans: list[tuple[int, int]] = []
    try:
        tree = ast.parse("".join(source), filename)
    except (SyntaxError, ValueError, RecursionError):
        tree = None
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.stmt) and node.end_lineno is not None:
            body = getattr(node, "body", None)
            last = node.end_lineno
            if isinstance(body, list) and body and isinstance(body[0], ast.AST):
                # The header only; decorators of a def belong to it too.
                last = max(node.lineno, body[0].lineno - 1)
            spans.append((node.lineno, last))
    if len(_TREES) >= 256:
        _TREES.clear()
    _TREES[filename] = (fingerprint, spans)
    return spans
