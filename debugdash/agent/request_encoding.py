"""The wire line of a ``request_batch``, built directly.

Every request of the server goes through here (in the batch thread, but under
the same GIL as the requests), so records are written with one f-string each
instead of the codec's generic walk; a test holds the two byte-equal. The full
requests in a batch are those that failed: one per failing request when an app
fails in a loop, so they are written the same way.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii as _string

from debugdash.protocol import codec
from debugdash.protocol.request_events import RequestRecord
from debugdash.protocol.requests import CapturedRequest, RequestBatch

_dumps = json.JSONEncoder(separators=(",", ":")).encode
_BOOL = {True: "true", False: "false"}


def batch_json(batch: RequestBatch) -> bytes:
    """``codec.encode(batch)``, newline included, at a fraction of its cost."""
    records = ",".join([_record_json(r) for r in batch.records])
    captured = ",".join([_captured_json(c) for c in batch.captured])
    line = (
        f'{{"event":"request_batch","time":{float(batch.time)!r},"records":[{records}],'
        f'"captured":[{captured}],"pid":{int(batch.pid)!r}}}\n'
    )
    return line.encode()


def _record_json(r: RequestRecord) -> str:
    return (
        f'{{"time":{float(r.time)!r},"id":{int(r.id)!r},"method":{_string(r.method)},"path":{_string(r.path)},'
        f'"query":{_string(r.query)},"status":{int(r.status)!r},"duration":{float(r.duration)!r},'
        f'"size":{int(r.size)!r},"remote_addr":{_string(r.remote_addr)},"pid":{int(r.pid)!r},'
        f'"error":{_BOOL[bool(r.error)]},"replay":{_string(r.replay)}}}'
    )


def _captured_json(c: CapturedRequest) -> str:
    headers = c.headers
    if type(headers) is not list or any(type(h) is not list or len(h) != 2 for h in headers):
        return _dumps(codec.plain(c))  # an unusual shape: the codec knows what to do with it
    pairs = ",".join([f"[{_string(name)},{_string(value)}]" for name, value in headers])
    return (
        f'{{"id":{int(c.id)!r},"method":{_string(c.method)},"target":{_string(c.target)},"headers":[{pairs}],'
        f'"body64":{_string(c.body64)},"body_truncated":{_BOOL[bool(c.body_truncated)]},'
        f'"remote_addr":{_string(c.remote_addr)},"scheme":{_string(c.scheme)}}}'
    )
