"""The wire line of a ``request_batch``, built directly.

Every request of the server goes through here (in the batch thread, but under
the same GIL as the requests), so the records, rows of plain values, are
written by one call of the C encoder for the whole batch instead of the codec's
generic walk; a test holds the two byte-equal. The full
requests in a batch are those that failed: one per failing request when an app
fails in a loop, so they are written the same way.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii as _string

from debugdash.protocol import codec
from debugdash.protocol.requests import CapturedRequest, RequestBatch

_dumps = json.JSONEncoder(separators=(",", ":")).encode
_BOOL = {True: "true", False: "false"}


def batch_json(batch: RequestBatch) -> bytes:
    """``codec.encode(batch)``, newline included, at a fraction of its cost."""
    captured = ",".join([_captured_json(c) for c in batch.captured])
    line = (
        f'{{"event":"request_batch","time":{float(batch.time)!r},"rows":{_dumps(batch.rows)},'
        f'"captured":[{captured}],"pid":{int(batch.pid)!r}}}\n'
    )
    return line.encode()


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
