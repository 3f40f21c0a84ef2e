"""Turning bytes the app wrote into text that is safe to show anywhere.

The app's output is never trusted: it may be invalid UTF-8, hold terminal
escape sequences (which would repaint or retitle the user's terminal), or be one
enormous line. ``display_text`` makes any of that plain, bounded text.
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
# The same set less the newline, for text that still holds many lines.
_CONTROLS_BUT_NEWLINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


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
    if len(text) > limit:
        text = f"{text[:limit]}… [{original - limit} more characters]"
    return text


def display_lines(lines: list[bytes]) -> list[str]:
    """``display_text`` of each line, in one pass when the lines are plain.

    A flood of ordinary output is decoded as one block and checked with one
    search; only a batch holding something to clean goes line by line.
    """
    text = b"\n".join(lines).decode("utf-8", "replace")
    if _CONTROLS_BUT_NEWLINE.search(text) is None:
        # A replacement never swallows a newline: it cannot continue a UTF-8 sequence.
        texts = text.split("\n")
        if len(texts) == len(lines) and (not texts or max(map(len, texts)) <= MAX_LINE_CHARS):
            return texts
    return [display_text(line) for line in lines]
