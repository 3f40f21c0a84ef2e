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

from debugdash.protocol.events import Event, ExceptionInfo, Frame, RequestError
from debugdash.protocol.commands import Command, encode
from debugdash.protocol.requests import RequestBatch
from debugdash.agent.request_encoding import batch_json

_dumps = json.JSONEncoder(separators=(",", ":")).encode


def encode_message(message: Event | Command) -> bytes:
    """One line of the wire format for ``message``, newline included (as ``wire.encode``)."""
    if type(message) is RequestError:
        return request_error_json(message).encode() + b"\n"
    if type(message) is RequestBatch:
        return batch_json(message)
    return encode(message)


def request_error_json(event: RequestError) -> str:
    """``event.to_dict()`` as JSON text, built from cached pieces.

    An error repeats at the same lines, so each frame's place (file, line,
    function, source) is encoded once; only its locals are encoded each time.
    """
    chain = ",".join([_exception_json(info) for info in event.chain])
    return (
        f'{{"event":{_dumps(RequestError.name)},"time":{_dumps(event.time)},"method":{_dumps(event.method)},'
        f'"path":{_dumps(event.path)},"remote_addr":{_dumps(event.remote_addr)},"chain":[{chain}],'
        f'"streaming":{_dumps(event.streaming)},"pid":{_dumps(event.pid)}'
        f',"occurrence":{_dumps(event.occurrence)},"request_id":{_dumps(event.request_id)}}}'
    )


def _exception_json(info: ExceptionInfo) -> str:
    frames = ",".join([_frame_json(frame) for frame in info.frames])
    inner = ",".join([_exception_json(e) for e in info.exceptions])
    return (
        f'{{"type":{_dumps(info.type)},"message":{_dumps(info.message)},"frames":[{frames}],'
        f'"relation":{_dumps(info.relation)},"notes":{_dumps(info.notes)},"exceptions":[{inner}]}}'
    )


_PLACES: dict[tuple, tuple[str, str]] = {}
_PLACES_LIMIT = 4096


def _frame_json(frame: Frame) -> str:
    key = (frame.filename, frame.lineno, frame.function, frame.source, frame.is_app,
           frame.statement_lineno, len(frame.statement), *frame.highlight)
    place = _PLACES.get(key)
    if place is None:
        place = (
            f'{{"filename":{_dumps(frame.filename)},"lineno":{_dumps(frame.lineno)},'
            f'"function":{_dumps(frame.function)},"source":{_dumps(frame.source)},"locals":',
            f',"is_app":{_dumps(frame.is_app)},"statement":{_dumps(frame.statement)},'
            f'"statement_lineno":{_dumps(frame.statement_lineno)},"highlight":{_dumps(frame.highlight)}}}',
        )
        if len(_PLACES) >= _PLACES_LIMIT:
            _PLACES.clear()
        _PLACES[key] = place
    return place[0] + (_dumps(frame.locals) if frame.locals else "{}") + place[1]
