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

from collections.abc import Collection
from json.encoder import encode_basestring_ascii as _json_string

from debugdash.protocol.text import MAX_LINE_CHARS

#: Bytes that make ``display_text`` change a line (controls but tab, DEL). The
#: newline is among them: the batch is checked joined with newlines, and those are counted.
_NOT_PLAIN = bytes([*range(0x00, 0x09), *range(0x0A, 0x20), 0x7F])


def plain_batch(lines: list[bytes], *, unless: Collection[bytes] = ()) -> bytes | None:
    """``lines`` joined with newlines when each is its own display text, else None.

    That is: printable ASCII or tab, at most ``MAX_LINE_CHARS`` long, and holding
    none of ``unless`` (what the caller must mask). Each check scans the batch
    once, in C; a batch that fails one takes ``display_lines``, line by line.
    """
    body = b"\n".join(lines)
    if (
        not body.isascii()
        # Only the newlines that join the lines may go: one byte more is a line to clean.
        or len(body) - len(body.translate(None, _NOT_PLAIN)) != len(lines) - 1
        or max(map(len, lines)) > MAX_LINE_CHARS  # (no lines failed the line above)
        or any(hidden in body for hidden in unless)
    ):
        return None
    return body


def log_batch_json(stream: str, lines: list[bytes], when: float, *, unless: Collection[bytes] = ()) -> list[bytes] | None:
    """``"".join(log_lines_json(stream, display_lines(lines), when))`` as bytes, in pieces; or None.

    The pieces are to be written one after the other: a batch is ~0.5 MB, and
    gluing the first line's head and the last line's end onto it would copy it
    twice more (measured: half the cost of the whole call). None when the batch
    is not a ``plain_batch``: quotes, backslashes and tabs are all it escapes.
    """
    if not lines:
        return []
    body = plain_batch(lines, unless=unless)
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
