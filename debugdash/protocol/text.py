"""Turning text the app or the network wrote into text that is safe to show anywhere.

Nothing from the app or the network is trusted: it may be invalid UTF-8, hold
terminal escape sequences (which would repaint or retitle the user's terminal,
or write its clipboard), bidi overrides (which make text read in another order
than it runs), or be one enormous line.

``neutralise`` is for the strings inside events: it keeps every character but
shows controls as visible stand-ins (ESC as ``␛``), so the developer sees that
something was there. ``display_text`` is for the app's output lines: it drops
escape sequences (colour codes are noise in a log) and bounds the line.
"""

from __future__ import annotations

import re

#: Longest line kept for display; the rest is counted, not stored.
MAX_LINE_CHARS = 4000

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), DCS/SOS/PM/APC strings,
# two-character escapes, and the 8-bit C1 forms of the same.
_ESCAPES = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]              # CSI
  | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|$)   # OSC, DCS, SOS, PM, APC
  | \x1b[ -/]*[0-~]                               # other escapes
    """,
    re.VERBOSE | re.DOTALL,
)
# Remaining C0 and C1 controls except tab; DEL too.
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
# Bidi embeddings, overrides and isolates; line and paragraph separators;
# lone surrogates (which no stream can encode).
_INVISIBLE = "\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff"
_BIDI = re.compile(f"[{_INVISIBLE}]")
# Everything display_lines must look at line by line: controls less the newline, and the above.
_UNPLAIN_BUT_NEWLINE = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_INVISIBLE}]")
# What neutralise shows visibly: every control except tab, and the invisible set.
_UNSAFE = re.compile(f"[\\x00-\\x08\\x0a-\\x1f\\x7f-\\x9f{_INVISIBLE}]")
_UNSAFE_BUT_NEWLINE = _UNPLAIN_BUT_NEWLINE


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: ESC is ␛, BEL is ␇
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def neutralise(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control character, bidi control and lone surrogate shown visibly.

    Nothing is dropped: ESC becomes ``␛`` (so an escape sequence reads as the
    harmless text it is), BEL ``␇``, a C1 control or bidi override its code
    point (``<U+009B>``, ``<U+202E>``). Tab is kept. ``multiline`` keeps newlines
    (a carriage return before one is dropped); otherwise they are shown as ``␊``,
    so a field cannot forge the next line of a log.
    """
    if text.isprintable():
        return text
    if multiline:
        return _UNSAFE_BUT_NEWLINE.sub(_visible, text.replace("\r\n", "\n"))
    return _UNSAFE.sub(_visible, text)


def display_text(data: bytes | str, limit: int = MAX_LINE_CHARS) -> str:
    """Plain text for display: decoded with replacement, no control sequences, bounded."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    original = len(text)
    if original > limit * 4:
        # Never run the expressions over megabytes that will be cut anyway.
        text = text[: limit * 4]
    if "\x1b" in text or not text.isprintable():
        text = _ESCAPES.sub("", text)
        text = _CONTROLS.sub("\ufffd", text.replace("\r", ""))
        text = _BIDI.sub(_visible, text)
    if len(text) > limit:
        text = f"{text[:limit]}… [{original - limit} more characters]"
    return text


def has_line_over(data: bytes, limit: int, start: int = 0, end: int | None = None) -> bool:
    """Whether a line (between newlines) of ``data[start:end]`` is longer than ``limit`` bytes.

    A line over the limit covers a whole half-limit span: a few searches per
    block, and the lines are measured only when one span holds no newline.
    """
    end = len(data) if end is None else end
    step = max(limit // 2, 1)
    if all(data.find(b"\n", at, at + step) >= 0 for at in range(start, end - step + 1, step)):
        return False
    return max(map(len, data[start:end].split(b"\n"))) > limit


def display_lines(lines: list[bytes]) -> list[str]:
    """``display_text`` of each line, in one pass when the lines are plain.

    A flood of ordinary output is decoded as one block and checked with one
    search; only a batch holding something to clean goes line by line.
    """
    text = b"\n".join(lines).decode("utf-8", "replace")
    # A replacement never swallows a newline: it cannot continue a UTF-8 sequence.
    texts = text.split("\n")
    if len(texts) != len(lines):
        return [display_text(line) for line in lines]
    if _UNPLAIN_BUT_NEWLINE.search(text) is None and (not texts or max(map(len, texts)) <= MAX_LINE_CHARS):
        return texts
    # Only the lines that need it: Werkzeug colours the status of every failing
    # request's log line, so on an error path nearly every batch holds one.
    # (``isprintable`` first: a C loop, true for nearly every line; a tab makes it false, harmlessly.)
    search = _UNPLAIN_BUT_NEWLINE.search
    return [
        line if line.isprintable() and len(line) <= MAX_LINE_CHARS
        else display_text(line) if len(line) > MAX_LINE_CHARS or search(line) else line
        for line in texts
    ]
