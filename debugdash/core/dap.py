"""The Debug Adapter Protocol's wire format: JSON bodies behind a ``Content-Length`` header.

Both the attach relay (the IDE's side) and the attach hub (pydevd's side) read
messages with ``read_message``; anything that is not a well-formed message is a
``DapFramingError``, so the caller can close that one connection and say why.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

Message = dict[str, Any]

#: One header line; real ones are ~20 bytes ("Content-Length: 12345").
MAX_HEADER = 1024
#: A body; a `variables` answer for a big local runs to a few MB.
MAX_BODY = 64 * 1024 * 1024
#: Header lines before the blank one (only Content-Length and Content-Type exist).
_MAX_HEADER_LINES = 8


class DapFramingError(ValueError):
    """Bytes that are not a DAP message: the connection cannot be read further."""


def frame(message: Message) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


async def read_message(reader: asyncio.StreamReader) -> Message | None:
    """The next message, or None at the end of the stream (also mid-message: the peer left)."""
    length: int | None = None
    lines = 0
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as e:
            if e.partial.strip():
                raise DapFramingError("connection ended inside a DAP header") from None
            return None
        except asyncio.LimitOverrunError:
            raise DapFramingError("DAP header line too long") from None
        if len(line) > MAX_HEADER:
            raise DapFramingError("DAP header line too long")
        if line in (b"\r\n", b"\n"):
            if length is not None:
                break
            if lines:
                raise DapFramingError("DAP header without Content-Length")
            continue  # stray blank lines between messages are tolerated
        lines += 1
        if lines > _MAX_HEADER_LINES:
            raise DapFramingError("too many DAP header lines")
        name, colon, value = line.partition(b":")
        if not colon:
            raise DapFramingError("malformed DAP header line")
        if name.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                raise DapFramingError("Content-Length is not a number") from None
            if not 0 <= length <= MAX_BODY:
                raise DapFramingError("DAP message too large")
    try:
        body = await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        return None
    try:
        message = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DapFramingError("DAP body is not JSON") from None
    if not isinstance(message, dict):
        raise DapFramingError("DAP message is not an object")
    return message
