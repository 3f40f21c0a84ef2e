"""The ``--json`` lines of a batch of plain output, made from its bytes in a few C calls.

A flood of output reaches ``--headless`` a few thousand lines per batch.
Decoding each batch, cleaning it (``display_lines``), formatting one JSON
object per line and encoding the result again cost ~0.8 µs a line, more than
the app spends printing it, so the app waited on its pipe (1.3× plain
``flask run``). A batch of printable ASCII needs none of that: every line is
its own display text and its own JSON string once quotes, backslashes and
tabs are escaped, so the JSON lines are the batch joined around a template
(and the readable lines, the batch joined around their indent).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from json.encoder import encode_basestring_ascii as _json_string

from debugdash.protocol.text import MAX_LINE_CHARS, has_line_over

#: Bytes that make ``display_text`` change a line (controls but tab, DEL). The
#: newline is among them: the batch is checked joined with newlines, and those are counted.
_NOT_PLAIN = bytes([*range(0x00, 0x09), *range(0x0A, 0x20), 0x7F])


def plain_block(body: bytes, count: int, *, unless: re.Pattern[bytes] | None = None) -> bytes | None:
    """``body`` (``count`` lines joined by newlines) when each line is its own display text, else None.

    That is: printable ASCII or tab, at most ``MAX_LINE_CHARS`` long, and holding
    nothing ``unless`` finds (what the caller must mask). Each check scans the
    block once, in C; a block that fails one takes ``display_lines``, line by line.
    """
    if (
        not body.isascii()
        # Only the newlines that join the lines may go: one byte more is a line to clean.
        or len(body) - len(body.translate(None, _NOT_PLAIN)) != count - 1
        or has_line_over(body, MAX_LINE_CHARS)
        or (unless is not None and unless.search(body) is not None)
    ):
        return None
    return body


def log_block_json(stream: str, body: bytes, count: int, when: float, *, unless: re.Pattern[bytes] | None = None) -> list[bytes] | None:
    """``"".join(log_lines_json(stream, display_lines(body.split(b"\\n")), when))`` as bytes, in pieces; or None.

    The pieces are to be written one after the other: a block is ~0.5 MB, and
    gluing the first line's head and the last line's end onto it would copy it
    twice more (measured: half the cost of the whole call). None when the block
    is not a ``plain_block``: quotes, backslashes and tabs are all it escapes.
    """
    if not count:
        return []
    body = plain_block(body, count, unless=unless)
    if body is None:
        return None
    # Backslashes first, so the ones added for quotes and tabs are not doubled.
    if b"\\" in body:
        body = body.replace(b"\\", b"\\\\")
    if b'"' in body:
        body = body.replace(b'"', b'\\"')
    if b"\t" in body:
        body = body.replace(b"\t", b"\\t")
    head = f'{{"event":"log","time":{when!r},"stream":{_json_string(stream)},"line":"'.encode("ascii")
    return [head, body.replace(b"\n", b'"}\n' + head), b'"}\n']


def masking(forms: Collection[str]) -> re.Pattern[bytes] | None:
    """One search for any of ``forms`` in a block of output (longest first); None for none."""
    encoded = sorted({form.encode("utf-8", "replace") for form in forms if form}, key=len, reverse=True)
    return re.compile(b"|".join(map(re.escape, encoded))) if encoded else None
