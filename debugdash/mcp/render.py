"""What `debugdash mcp` hands an agent, as text: the newest failure as one
markdown document, the status without the PIN, logs and reloads as JSON.

Every string here came through the codec (neutralised: no terminal escapes), and
locals are the agent's safe reprs. Code fences grow longer than any run of
backticks inside them, so an app's value cannot close a fence and pose as text
of ours.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from debugdash.protocol.console import ErrorGroupInfo, EvalResult
from debugdash.protocol.control import ReplayResult, SessionStatus
from debugdash.protocol.events import ExceptionInfo, Frame
from debugdash.protocol.request_events import RequestRecord
from debugdash.protocol.observe import ErrorDetailAnswer, LogLines, ReloadInfo, ReloadOutcome

_RELATIONS = {
    "cause": "The above exception was the direct cause of the following exception:",
    "context": "During handling of the above exception, another exception occurred:",
}


def as_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def status(answer: SessionStatus, last_reload: ReloadInfo | None, now: float) -> dict[str, Any]:
    """The session as an agent needs it; never the PIN."""
    return {
        "app": answer.app,
        "url": answer.url,
        "phase": answer.phase,
        "pid": answer.pid,
        "toggles": {"debug": answer.toggles.debug, "debugger": answer.toggles.debugger,
                    "reloader": answer.toggles.reloader, "attach": answer.toggles.attach},
        "last_reload": reload(last_reload, now) if last_reload else None,
        "grants": [
            {"network": g.network, "what": g.what, "seconds_left": round(g.seconds_left), "granted_by": g.user}
            for g in answer.grants
        ],
        "attach_port": answer.attach.port if answer.attach else None,
        "requests": {"total": answer.requests.total, "failed": answer.requests.failed} if answer.requests else None,
        "error_groups": {"open": answer.error_groups.open, "verified_fixed": answer.error_groups.fixed} if answer.error_groups else None,
        "allowed_to_agents": {
            "eval": bool(answer.settings.get("mcp_allow_eval")),
            "unsafe_replay": bool(answer.settings.get("mcp_allow_unsafe_replay")),
        },
    }


def reload(info: ReloadInfo, now: float) -> dict[str, Any]:
    return {
        "file": info.filename,
        "seconds_ago": round(max(0.0, now - info.time), 1),
        "outcome": "load_error" if info.load_error else ("ready" if info.ready_after is not None else "loading"),
        "ready_after_seconds": None if info.ready_after is None else round(info.ready_after, 3),
        "load_error": info.load_error,
    }


def error_group(group: ErrorGroupInfo) -> dict[str, Any]:
    return {
        "group": group.id,
        "type": group.type,
        "message": group.message,
        "where": group.location,
        "count": group.count,
        "last_seen": _clock(group.last_seen),
        "request": group.request,
        "occurrence": group.occurrence,
        "frames_kept_for_eval": group.frames_held,
        "app_frames": group.frames,
    }


def request_record(record: RequestRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "time": _clock(record.time),
        "method": record.method,
        "path": record.path + (f"?{record.query}" if record.query else ""),
        "status": record.status,
        "duration_ms": round(record.duration * 1000, 1),
        "size": record.size,
        "from": record.remote_addr,
        "raised": record.error,
        **({"replay_of": record.replay} if record.replay else {}),
    }


def replay(result: ReplayResult) -> dict[str, Any]:
    data: dict[str, Any] = {"status": result.status, "reason": result.reason}
    if result.status:
        data["ok"] = not result.failed and not result.raised
        data["duration_ms"] = round(result.duration * 1000, 1)
        data["size"] = result.size
        data["raised"] = result.raised
        if result.replay_id:
            data["replay_request_id"] = result.replay_id
    else:
        data["ok"] = False
        data["message"] = result.message
    return data


def evaluation(result: EvalResult) -> dict[str, Any]:
    data: dict[str, Any] = {"where": result.where, "frame": result.frame}
    if result.output:
        data["output"] = result.output
    if result.raised:
        data["raised"] = result.traceback
    else:
        data["value"] = result.value
    return data


def outcome(answer: ReloadOutcome) -> dict[str, Any]:
    data: dict[str, Any] = {"outcome": answer.outcome}
    if answer.filename:
        data["file"] = answer.filename
    if answer.url:
        data["url"] = answer.url
    if answer.ready_after is not None:
        data["ready_after_seconds"] = round(answer.ready_after, 3)
    if answer.message:
        data["message"] = answer.message
    return data


def logs(answer: LogLines, search: str | None) -> str:
    if not answer.lines:
        what = f"no line contains {search!r}" if search else "the server has written nothing yet"
        return f"{what} (looked at {answer.searched} lines; newest line number {answer.last_seq})"
    body = "\n".join(f"{line.seq:>6} {line.stream[3]} {line.text}" for line in answer.lines)
    return f"{body}\n(line number, o=stdout e=stderr; newest line number {answer.last_seq})"


def failure(detail: ErrorDetailAnswer) -> str:
    """The newest occurrence of an error group: the request, the traceback with source and locals."""
    raised = detail.chain[-1] if detail.chain else None
    title = f"{raised.type}: {_first_line(raised.message)}" if raised else "(unknown exception)"
    streaming = " (while streaming the response)" if detail.streaming else ""
    lines = [
        f"# {title}",
        "",
        f"- request: `{detail.method} {detail.path}`{streaming} from {detail.remote_addr}",
        f"- seen {detail.count} time{'s' if detail.count != 1 else ''}, first {_clock(detail.first_seen)}, last {_clock(detail.last_seen)}",
        f"- error group `{detail.group}`" + (f", request `{detail.request_id}`" if detail.request_id else "")
        + (f", occurrence `{detail.occurrence}` (frames kept for eval)" if detail.occurrence else ""),
        "",
        "## Traceback (most recent call last)",
    ]
    for exception in detail.chain:
        if exception.relation in _RELATIONS:
            lines += ["", _RELATIONS[exception.relation]]
        lines += _exception(exception, level=3)
    return "\n".join(lines) + "\n"


def _exception(exception: ExceptionInfo, level: int) -> list[str]:
    lines = ["", f"{'#' * level} {exception.type}: {_first_line(exception.message)}"]
    if "\n" in exception.message.strip():
        lines += ["", *_fenced(exception.message.strip(), "text")]
    if exception.frames:
        lines.append("")
    for frame in exception.frames:
        lines += _frame(frame)
    for note in exception.notes:
        lines += ["", f"Note: {note}"]
    for number, inner in enumerate(exception.exceptions, 1):
        lines += ["", f"Sub-exception {number} of the group:"]
        lines += _exception(inner, level=min(level + 1, 6))
    return lines


def _frame(frame: Frame) -> list[str]:
    where = f"`{frame.filename}`, line {frame.lineno}, in `{frame.function}`"
    if not frame.is_app:
        # A library's frame in one line: the app's own frames are where a fix goes.
        return [f"- {where} (library)"]
    lines = ["", f"- {where}"]
    source = "\n".join(frame.statement) if frame.statement else frame.source
    if source:
        lines += _indent(_fenced(source, "python"))
    if frame.locals:
        width = max(len(name) for name in frame.locals)
        shown = "\n".join(f"{name.ljust(width)} = {value}" for name, value in frame.locals.items())
        lines += ["  locals:", *_indent(_fenced(shown, "text"))]
    return lines


def _fenced(text: str, language: str) -> list[str]:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", *text.splitlines(), fence]


def _indent(lines: list[str]) -> list[str]:
    return [f"  {line}" if line else line for line in lines]


def _first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0] if stripped else ""


def _clock(when: float) -> str:
    return datetime.fromtimestamp(when).astimezone().strftime("%H:%M:%S")
