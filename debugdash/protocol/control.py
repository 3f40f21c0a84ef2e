"""The control socket's requests and answers: what `debugdash allow/revoke/status/
restart/toggle` in another terminal asks a running session.

One request and one answer per connection, each a line of JSON. Each request
class names the type of its answer's result in ``Result`` (a dataclass below, or
a list of one): the session's handler returns an instance, and the client gets
it back decoded by the one codec. Types are strict: a field of the wrong type is refused with a message naming it, never
read as truthy (``"state": "off"`` means off; ``"wide": "yes"`` is refused).

Standard library only, like the rest of ``protocol``.
"""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar

from debugdash.protocol import codec
from debugdash.protocol.records import dataclass, field, fields  # dataclasses.dataclass, cheaper to create
from debugdash.protocol.request_events import RequestRecord
from debugdash.protocol.text import neutralise

TOGGLES = ("debugger", "reloader", "attach", "debug")

#: Longest request line; the largest real one (an allow) is under 200 bytes.
MAX_REQUEST = 64 * 1024


class BadRequest(ValueError):
    """A request that is not what the protocol allows; its message is the answer."""


# --- what the answers carry --------------------------------------------------


@dataclass(slots=True)
class GrantInfo:
    """One live grant, as `debugdash status` and `allow`/`revoke` report it."""

    network: str  # canonical, e.g. "127.0.0.2/32"
    what: list[str]  # subset of ["debugger", "attach"]
    seconds_left: float
    granted_at: float  # wall time
    user: str = ""


@dataclass(slots=True)
class AttachClientInfo:
    peer: str
    since: float  # wall time


@dataclass(slots=True)
class PausedInfo:
    """Where the attached IDE holds the app stopped."""

    thread_id: int
    thread: str
    file: str
    line: int
    function: str
    reason: str  # DAP's: breakpoint, step, exception, pause


@dataclass(slots=True)
class AttachInfo:
    """How to connect an IDE to the session's attach port."""

    port: int
    internal_port: int | None
    host: str
    tunnel: str  # the SSH command that forwards the port
    launch_json: str = field(metadata=codec.MULTILINE)  # a VS Code launch.json entry
    clients: list[AttachClientInfo] = field(default_factory=list)
    #: Where the attached IDE holds the app stopped, while it does.
    paused: PausedInfo | None = None
    #: A saved file whose reload waits until the IDE lets the app run on.
    reload_pending: str | None = None


@dataclass(slots=True)
class SwitchStates:
    debug: bool
    debugger: bool
    reloader: bool
    attach: bool


@dataclass(slots=True)
class SessionStatus:
    """Everything `debugdash status` shows (the PIN too: only its user reaches the control socket)."""

    app: str
    phase: str
    url: str
    pid: int | None
    supervisor_pid: int
    port: int
    host: str
    toggles: SwitchStates
    pin: str | None
    reloader_type: str | None
    grants: list[GrantInfo]
    audit_log: str | None
    attach: AttachInfo | None
    suggested_grant: str | None
    python: str | None
    #: The session's settings, name → value, as `debugdash status --json` prints them.
    settings: dict[str, Any]
    #: Requests served and error groups, open and verified fixed (issue 12).
    requests: RequestCounts | None = None
    error_groups: GroupCounts | None = None


@dataclass(slots=True)
class RequestCounts:
    total: int  # every request recorded this session
    failed: int  # of which raised


@dataclass(slots=True)
class GroupCounts:
    open: int
    fixed: int  # verified fixed by a replay after a reload


@dataclass(slots=True)
class CurlCommand:
    text: str = field(metadata=codec.MULTILINE)


@dataclass(slots=True)
class ReplayResult:
    """What a replay got back."""

    id: int  # the request replayed
    status: int  # 0 when no response came
    reason: str
    duration: float
    size: int
    #: The replay's own record, once the agent reported it (0 when it never did).
    replay_id: int = 0
    #: True when the replayed request raised in the app (its traceback is a ``request_error``).
    raised: bool = False
    #: Why no response came, when none did.
    message: str = ""

    @property
    def failed(self) -> bool:
        """A 5xx, or no response at all: what makes `debugdash replay` exit 1."""
        return self.status == 0 or self.status >= 500

    def status_line(self) -> str:
        if self.status == 0:
            return f"replay of request {self.id}: no response ({self.message})"
        shown = f", request {self.replay_id}" if self.replay_id else ""
        return f"HTTP {self.status} {self.reason} in {self.duration * 1000:.0f} ms, {self.size} bytes{shown}"


@dataclass(slots=True)
class TrustedHosts:
    hosts: list[str]


@dataclass(slots=True)
class Restarted:
    restarted: bool = True


@dataclass(slots=True)
class NewPinAnswer:
    pin: str


@dataclass(slots=True)
class Switched:
    name: str  # one of TOGGLES
    on: bool


# --- the requests ------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class Request:
    cmd: ClassVar[str] = ""
    #: The type of the answer's result: a dataclass, or ``list[...]`` of one.
    Result: ClassVar[Any] = None

    # No super() here: slots dataclasses are rebuilt, which breaks zero-argument super.
    def __init_subclass__(cls) -> None:
        if cls.cmd:
            codec.REQUESTS.register(cls)

    def to_dict(self) -> dict[str, Any]:
        return codec.REQUESTS.as_dict(self)


@dataclass(slots=True, kw_only=True)
class Status(Request):
    cmd: ClassVar[str] = "status"
    Result: ClassVar[Any] = SessionStatus


@dataclass(slots=True, kw_only=True)
class Allow(Request):
    cmd: ClassVar[str] = "allow"
    Result: ClassVar[Any] = GrantInfo
    address: str
    what: str | None = None  # "debugger" (the default), "attach" or "both"
    ttl: str | float | None = None  # "15m", or seconds; None for the session's default
    wide: bool = False


@dataclass(slots=True, kw_only=True)
class Revoke(Request):
    cmd: ClassVar[str] = "revoke"
    Result: ClassVar[Any] = list[GrantInfo]
    address: str | None = None
    all: bool = False


@dataclass(slots=True, kw_only=True)
class Restart(Request):
    cmd: ClassVar[str] = "restart"
    Result: ClassVar[Any] = Restarted


@dataclass(slots=True, kw_only=True)
class NewPin(Request):
    """A new debugger PIN for the session (every unlocked browser must unlock again)."""

    cmd: ClassVar[str] = "new_pin"
    Result: ClassVar[Any] = NewPinAnswer


@dataclass(slots=True, kw_only=True)
class Toggle(Request):
    cmd: ClassVar[str] = "toggle"
    Result: ClassVar[Any] = Switched
    name: str  # one of TOGGLES
    state: bool | None = None  # None flips


@dataclass(slots=True)
class Answer:
    """What the session says back: a result (of the request's ``Result`` type), or why it refused."""

    ok: bool
    result: Any = None
    error: str = ""

    def to_line(self) -> bytes:
        data: dict[str, Any] = {"ok": self.ok, "result": codec.to_plain(self.result)} if self.ok else {"ok": False, "error": self.error}
        return json.dumps(data).encode() + b"\n"

    @classmethod
    def from_line(cls, line: bytes, request: type[Request] | Request) -> Answer:
        """The answer to ``request`` on ``line``, its result decoded as the request's ``Result``."""
        try:
            data = json.loads(line)
        except ValueError:
            return cls(ok=False, error="the session's answer is not a line of JSON")
        if not isinstance(data, dict):
            return cls(ok=False, error="the session's answer is not a JSON object")
        if data.get("ok") is not True:
            return cls(ok=False, error=neutralise(str(data.get("error") or "")))
        try:
            result = codec.decode_value(request.Result, data.get("result"))
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            return cls(ok=False, error=f"the session's answer does not fit {request.cmd!r}: {e}")
        return cls(ok=True, result=result)


def encode(request: Request) -> bytes:
    """One line of the control protocol, newline included."""
    return codec.encode(request)


def decode(line: bytes) -> Request:
    """The request on ``line``; BadRequest with the answer's message when it is not one."""
    try:
        data = json.loads(line)
    except ValueError:  # UnicodeDecodeError included
        raise BadRequest("bad request: not a line of JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("bad request: a JSON object is expected")
    cmd = data.get("cmd")
    if not isinstance(cmd, str):
        raise BadRequest("bad request: 'cmd' must be a string")
    cls = codec.REQUESTS.classes.get(cmd)
    if cls is None:
        raise BadRequest(f"unknown command {cmd!r}")
    # Absent fields are checked too: a required one is refused, an optional one takes its default.
    checked = {f.name: _CHECKS[cls, f.name](data.get(f.name), f.name) for f in fields(cls)}
    return codec.build(cls, checked)


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"bad request: {key!r} must be a string")
    return value


def _optional_text(value: Any, key: str) -> str | None:
    return None if value is None else _text(value, key)


def _flag(value: Any, key: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise BadRequest(f"bad request: {key!r} must be true or false")
    return value


def _ttl(value: Any, key: str) -> str | float | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    raise BadRequest("bad request: 'ttl' must be a duration such as \"15m\" or a number of seconds")


def _state(value: Any, key: str) -> bool | None:
    """True/False from true/false/"on"/"off"; None (absent or null) means flip."""
    if value is None or isinstance(value, bool):
        return value
    if value in ("on", "off"):
        return value == "on"
    raise BadRequest('bad request: \'state\' must be true, false, "on" or "off" (or absent to flip)')


@dataclass(slots=True, kw_only=True)
class Requests(Request):
    """Recent requests, newest first."""

    cmd: ClassVar[str] = "requests"
    Result: ClassVar[Any] = list[RequestRecord]
    errors: bool = False
    limit: int | None = None


@dataclass(slots=True, kw_only=True)
class Curl(Request):
    cmd: ClassVar[str] = "curl"
    Result: ClassVar[Any] = CurlCommand
    id: int


@dataclass(slots=True, kw_only=True)
class Replay(Request):
    cmd: ClassVar[str] = "replay"
    Result: ClassVar[Any] = ReplayResult
    id: int
    yes: bool = False  # needed for a method other than GET, HEAD, OPTIONS


@dataclass(slots=True, kw_only=True)
class TrustHost(Request):
    """Let the debugger accept a Host name for this session (refused by the DNS-rebinding check)."""

    cmd: ClassVar[str] = "trust_host"
    Result: ClassVar[Any] = TrustedHosts
    host: str


def _number(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadRequest(f"bad request: {key!r} must be a whole number")
    return value


def _optional_number(value: Any, key: str) -> int | None:
    return None if value is None else _number(value, key)


# How each field of each request is checked, before the codec builds it.
_CHECKS = {
    (Allow, "address"): _text,
    (Allow, "what"): _optional_text,
    (Allow, "ttl"): _ttl,
    (Allow, "wide"): _flag,
    (Revoke, "address"): _optional_text,
    (Revoke, "all"): _flag,
    (Toggle, "name"): _text,
    (Toggle, "state"): _state,
    (Requests, "errors"): _flag,
    (Requests, "limit"): _optional_number,
    (Curl, "id"): _number,
    (Replay, "id"): _number,
    (Replay, "yes"): _flag,
    (TrustHost, "host"): _text,
}
