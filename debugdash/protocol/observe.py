"""Control requests that read what a session saw — its output, its reloads, the
newest occurrence of an error group — or wait for its next reload; and the one a
coding agent's `debugdash mcp` sends to say what it did (issue 17).

Like every control request: one typed request and one answer per connection,
over the same-uid control socket (``protocol.control``), each request naming the
type of its result in ``Result``.

Standard library only, like the rest of ``protocol``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from debugdash.protocol.codec import MULTILINE
from debugdash.protocol.control import _CHECKS, BadRequest, Request, _optional_text, _text
from debugdash.protocol.events import Event, ExceptionInfo
from debugdash.protocol.records import dataclass, field  # dataclasses.dataclass, cheaper to create

#: Most lines one `Logs` answer carries: the control socket's answers stay small.
MAX_LOG_LINES = 2000
#: Longest wait for a reload one request may ask (an agent asks again rather than hang).
MAX_RELOAD_WAIT = 600.0

# --- the answers --------------------------------------------------------------


@dataclass(slots=True)
class LogLineInfo:
    seq: int  # 1 for the first line the session's server wrote
    stream: str  # "stdout" or "stderr"
    text: str  # as the dashboard shows it: decoded, control sequences removed


@dataclass(slots=True)
class LogLines:
    lines: list[LogLineInfo]
    #: The number of the newest line written, matched or not (to ask for what follows).
    last_seq: int
    #: Lines looked through (the buffer holds the newest 10,000 or 16 MB).
    searched: int


@dataclass(slots=True)
class ReloadInfo:
    time: float  # wall time of the file change
    filename: str
    reloader: str
    #: Seconds from the change until the new code served; None while loading or after a load error.
    ready_after: float | None = None
    load_error: str | None = field(default=None, metadata=MULTILINE)


@dataclass(slots=True)
class ReloadOutcome:
    """How the wait for a reload ended."""

    #: "ready" (the new code serves), "load_error" (it does not import), "crashed"
    #: (the server ended), or "timeout" (nothing happened in time).
    outcome: Literal["ready", "load_error", "crashed", "timeout"]
    #: The file whose change caused it ("" for a restart, or on timeout).
    filename: str = ""
    #: The load error's message, or why the server ended.
    message: str = field(default="", metadata=MULTILINE)
    url: str = ""
    ready_after: float | None = None
    #: Wall time of the reload (or restart) that ended the wait; 0 on timeout.
    time: float = 0.0


@dataclass(slots=True)
class ErrorDetailAnswer:
    """One error group and its newest occurrence, whole."""

    group: str  # the group's id, as `debugdash errors` lists it
    count: int
    first_seen: float
    last_seen: float
    method: str
    path: str
    remote_addr: str
    streaming: bool
    #: Root cause first, the exception the request raised last; locals as safe reprs.
    chain: list[ExceptionInfo]
    occurrence: str = ""  # for eval (issue 13)
    request_id: int = 0  # the request that raised, for request/replay (issue 12); 0 when unknown


@dataclass(slots=True)
class Noted:
    noted: bool = True


# --- the event the session publishes of a coding agent ---------------------------
# (here, beside the report it comes from: nothing but the session makes one)


@dataclass(slots=True, kw_only=True)
class CodingAgent(Event):
    """A coding agent's `debugdash mcp` connected, called a tool, or went away (issue 17)."""

    name: ClassVar[str] = "coding_agent"
    state: Literal["connected", "call", "disconnected"]
    client: str  # the name its MCP client gave, e.g. "claude-code"
    pid: int  # of the `debugdash mcp` process
    user: str = ""
    tool: str = ""
    arguments: str = ""  # redacted, one line
    ok: bool = True
    summary: str = ""  # the result in a few words, e.g. "200 OK" or "refused"


# --- the requests ----------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class Logs(Request):
    """The newest lines of the server's output, optionally only those containing ``search``."""

    cmd: ClassVar[str] = "logs"
    Result: ClassVar[Any] = LogLines
    tail: int = 100
    search: str | None = None  # case-insensitive; matched against each line
    since: int = 0  # only lines numbered above this (``last_seq`` of an earlier answer)


@dataclass(slots=True, kw_only=True)
class Reloads(Request):
    cmd: ClassVar[str] = "reloads"
    Result: ClassVar[Any] = list[ReloadInfo]


@dataclass(slots=True, kw_only=True)
class WaitForReload(Request):
    """Answer when the next reload serves (or fails to load, or the server ends).

    A reload that started at or after ``since`` (wall time) counts even when it
    finished before the request came: an agent edits a file, then asks, and the
    reloader may be quicker than the question.
    """

    cmd: ClassVar[str] = "wait_for_reload"
    Result: ClassVar[Any] = ReloadOutcome
    timeout: float = 60.0
    since: float | None = None


@dataclass(slots=True, kw_only=True)
class ErrorDetail(Request):
    """One error group's newest occurrence; the newest group when ``group`` is None."""

    cmd: ClassVar[str] = "error_detail"
    Result: ClassVar[Any] = ErrorDetailAnswer
    group: str | None = None


@dataclass(slots=True, kw_only=True)
class CodingAgentReport(Request):
    """What a coding agent did through `debugdash mcp`: shown on the dashboard, written to the audit log."""

    cmd: ClassVar[str] = "coding_agent"
    Result: ClassVar[Any] = Noted
    state: Literal["connected", "call", "disconnected"]
    client: str  # the name the MCP client gave, e.g. "claude-code"
    pid: int  # of the `debugdash mcp` process
    tool: str = ""
    arguments: str = ""  # redacted, one line
    ok: bool = True
    summary: str = ""  # the result in a few words, e.g. "200 OK" or "refused"


def _count(value: Any, key: str) -> int:
    if value is None:
        return 0 if key == "since" else 100
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadRequest(f"bad request: {key!r} must be a whole number, 0 or more")
    return min(value, MAX_LOG_LINES) if key == "tail" else value


def _seconds(value: Any, key: str) -> float:
    if value is None:
        return 60.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise BadRequest(f"bad request: {key!r} must be a number of seconds, 0 or more")
    return min(float(value), MAX_RELOAD_WAIT)


def _optional_time(value: Any, key: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadRequest(f"bad request: {key!r} must be a wall time in seconds")
    return float(value)


def _report_state(value: Any, key: str) -> str:
    if value not in ("connected", "call", "disconnected"):
        raise BadRequest("bad request: 'state' must be \"connected\", \"call\" or \"disconnected\"")
    return value


def _pid(value: Any, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise BadRequest("bad request: 'pid' must be a process id")
    return value


def _optional_flag(value: Any, key: str) -> bool:
    if value is None:
        return True
    if not isinstance(value, bool):
        raise BadRequest(f"bad request: {key!r} must be true or false")
    return value


def _short(value: Any, key: str) -> str:
    # Each is shown in one line of the dashboard and one record of the audit log.
    return _text("" if value is None else value, key)[:500]


_CHECKS.update({
    (Logs, "tail"): _count,
    (Logs, "search"): _optional_text,
    (Logs, "since"): _count,
    (WaitForReload, "timeout"): _seconds,
    (WaitForReload, "since"): _optional_time,
    (ErrorDetail, "group"): _optional_text,
    (CodingAgentReport, "state"): _report_state,
    (CodingAgentReport, "client"): _short,
    (CodingAgentReport, "pid"): _pid,
    (CodingAgentReport, "tool"): _short,
    (CodingAgentReport, "arguments"): _short,
    (CodingAgentReport, "ok"): _optional_flag,
    (CodingAgentReport, "summary"): _short,
})
