"""The agent's own JSON line of a recent event, for ``--json`` to write as it came.

``--headless --json`` would otherwise turn each request error back into JSON
(``to_dict`` over every frame, then ``json.dumps``) right after the agent hub
decoded it: the same bytes, made twice. The hub keeps the line of an error
event when the line is already neutral — nothing in it can decode to a
character that ``text.neutralise`` would change — so the promise that every
string is neutralised at the boundary holds for the bytes written as they are.
Any other line (an escape, a bidi control, a newline, any non-ASCII: the agent
writes ASCII JSON, so these arrive as ``\\u`` or ``\\n`` escapes) is not kept,
and ``--json`` writes the decoded, neutralised event as before.
"""

from __future__ import annotations

import re
from collections import OrderedDict

from debugdash.protocol.events import Event, RequestError, RequestErrorRepeat

#: Recent lines kept; the printer asks for an event right after it is published.
KEEP = 64

#: JSON escapes that decode to something ``neutralise`` changes (controls, bidi,
#: separators, surrogates), with ``\u`` escapes of any non-ASCII character taken
#: as such too (cheaper to check than their code points; they go the slow way).
#: A tab (``\t``) stays a tab. An escaped backslash before ``n`` is taken for an
#: escape as well: harmless, the line just goes the slow way.
_CHANGED_BY_NEUTRALISE = re.compile(rb"\\[nrbfu]")

#: Event kinds whose lines may be written as they came: no field that a face drops (a PIN).
FORWARDED = (RequestError, RequestErrorRepeat)


_REQUEST_ID = re.compile(r'(?<!\\)"request_id":\d+')


def neutral_line(line: bytes) -> bool:
    """True when every string in this JSON line decodes to text ``neutralise`` leaves unchanged."""
    return line.isascii() and b"\x7f" not in line and _CHANGED_BY_NEUTRALISE.search(line) is None


class AgentLines:
    """The lines of the last ``KEEP`` forwarded events, by event."""

    def __init__(self) -> None:
        # By id, holding the event too, so an id is never reused while its entry lives.
        self._lines: OrderedDict[int, tuple[Event, str]] = OrderedDict()

    def remember(self, event: Event, line: bytes) -> None:
        if type(event) in FORWARDED and neutral_line(line):
            self._lines[id(event)] = (event, line.decode("ascii").rstrip("\r\n"))
            if len(self._lines) > KEEP:
                self._lines.popitem(last=False)

    def renumber(self, event: RequestError | RequestErrorRepeat) -> None:
        """The session numbers requests, not the agent: the kept line takes ``event``'s number."""
        entry = self._lines.get(id(event))
        if entry is not None and entry[0] is event:
            # Unescaped, the key is a field of the event's own: a local's repr holding it is escaped.
            line = _REQUEST_ID.sub(f'"request_id":{int(event.request_id)}', entry[1], count=1)
            self._lines[id(event)] = (event, line)

    def line_of(self, event: Event) -> str | None:
        """The agent's line for ``event`` (no newline), or None when it must be encoded again."""
        entry = self._lines.get(id(event))
        return entry[1] if entry is not None and entry[0] is event else None
