"""Events of the Requests view (issue 12): each request's record, and fixes verified by a
replay after a reload.

Standard library only, like the rest of ``protocol``; the classes register with the
one codec like every event (see ``events``).
"""

from __future__ import annotations

from typing import ClassVar

from debugdash.protocol.events import Event
from debugdash.protocol.records import dataclass  # dataclasses.dataclass, cheaper to create


@dataclass(slots=True, kw_only=True)
class RequestRecord(Event):
    """One request the server answered: the cheap record every request gets.

    Secret query values are already redacted here. The agent numbers requests
    per process and sends them in batches; the supervisor renumbers them for
    the session (``debugdash curl ID``) before they are published.
    """

    name: ClassVar[str] = "request"
    id: int
    method: str
    path: str
    query: str = ""
    status: int
    duration: float  # seconds, from the call into the app to the end of the body
    size: int  # response body bytes
    remote_addr: str
    pid: int = 0
    #: True when it raised: a ``request_error`` with this ``request_id`` has the traceback.
    error: bool = False
    #: Set when debugdash replayed this request (its mark); "" for every other request.
    replay: str = ""


@dataclass(slots=True, kw_only=True)
class Verified(Event):
    """A failing request replayed after a reload: the error group it belongs to is fixed or not."""

    name: ClassVar[str] = "verified"
    #: The error group, as ``ErrorGroup.key``: exception type, file, line.
    error_type: str
    filename: str
    lineno: int
    request_id: int  # the request that failed
    replay_id: int = 0  # the replay's own record; 0 when it never arrived
    fixed: bool
    status: int = 0  # the replay's HTTP status; 0 when it got none
    message: str = ""  # why it could not be replayed, when it could not


@dataclass(slots=True, kw_only=True)
class VerifyOnReload(Event):
    """Verify-on-reload was switched (``v``, or ``[tool.debugdash] verify-on-reload``)."""

    name: ClassVar[str] = "verify_on_reload"
    on: bool
