"""Encoding events for the wire, fast where it matters.

``wire.encode`` goes through ``Event.to_dict``, which walks dataclasses
generically; for a ``request_error`` with its frames and locals that walk
costs more than capturing the error did, on the request thread of a failing
request. ``request_error`` therefore gets a direct encoder that produces the
same dictionary (a test holds the two equal); every other event uses the
generic path.
"""

from __future__ import annotations

import json

from debugdash.core.events import Event, ExceptionInfo, Frame, RequestError
from debugdash.core.wire import Command, encode

_dumps = json.JSONEncoder(separators=(",", ":")).encode


def encode_message(message: Event | Command) -> bytes:
    """One line of the wire format for ``message``, newline included (as ``wire.encode``)."""
    if type(message) is RequestError:
        return _dumps(request_error_dict(message)).encode() + b"\n"
    return encode(message)


def request_error_dict(event: RequestError) -> dict:
    """``event.to_dict()``, built directly."""
    return {
        "event": RequestError.name,
        "time": event.time,
        "method": event.method,
        "path": event.path,
        "remote_addr": event.remote_addr,
        "chain": [_exception_dict(info) for info in event.chain],
        "streaming": event.streaming,
        "pid": event.pid,
    }


def _exception_dict(info: ExceptionInfo) -> dict:
    return {
        "type": info.type,
        "message": info.message,
        "frames": [_frame_dict(frame) for frame in info.frames],
        "relation": info.relation,
    }


def _frame_dict(frame: Frame) -> dict:
    return {
        "filename": frame.filename,
        "lineno": frame.lineno,
        "function": frame.function,
        "source": frame.source,
        "locals": dict(frame.locals),
        "is_app": frame.is_app,
    }
