"""One request in full: the request line, the response, query, headers, the body
pretty-printed, and the traceback it raised."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from debugdash.protocol.events import RequestError, RequestRecord
from debugdash.protocol.redact import REDACTED
from debugdash.protocol.text import display_text
from debugdash.tui import format as fmt
from debugdash.tui.widgets.requests import millis, status_text, target
from debugdash.tui.widgets.traceback import traceback_text

#: Lines of a body shown; the rest is counted (the copy as curl has all of it).
BODY_LINES = 200


def _value(text: str) -> Text:
    """A header, field or query value: the redaction marker stands out, nothing else is styled."""
    if text == REDACTED:
        return Text(text, "italic magenta")
    return Text(display_text(text, 2000))


def _pairs(title: str, pairs: Iterable[tuple[str, str]]) -> Text:
    out = Text()
    rows = list(pairs)
    if not rows:
        return out
    out.append(f"\n{title}\n", "bold underline")
    for name, value in rows:
        out.append(f"  {display_text(name, 200)}: ", "cyan")
        out.append_text(_value(value))
        out.append("\n")
    return out


def _json_pretty(value: Any, marker: str = REDACTED) -> Text:
    """JSON indented; string values equal to the redaction marker stand out."""
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)
    out = Text()
    quoted = json.dumps(marker)
    for line in text.splitlines():
        line = display_text(line, 2000)
        start = line.find(quoted)
        if start < 0:
            out.append(line + "\n")
        else:
            out.append(line[:start])
            out.append(quoted, "italic magenta")
            out.append(line[start + len(quoted) :] + "\n")
    return out


def body_text(body: str, content_type: str) -> Text:
    """The body as the developer wants to read it: JSON indented, a form one field a line."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        try:
            return _json_pretty(json.loads(body))
        except ValueError:
            pass
    if kind == "application/x-www-form-urlencoded":
        fields = parse_qsl(body, keep_blank_values=True)
        out = Text()
        for name, value in fields:
            out.append(f"  {display_text(name, 200)} = ", "cyan")
            out.append_text(_value(value))
            out.append("\n")
        return out
    lines = body.splitlines()
    out = Text("\n".join(display_text(line, 2000) for line in lines[:BODY_LINES]) + "\n")
    if len(lines) > BODY_LINES:
        out.append(f"… {len(lines) - BODY_LINES} more lines\n", "dim")
    return out


def render_detail(record: RequestRecord, detail: Any | None, error: RequestError | None, note: Text | None = None) -> Text:
    """Everything known about one request.

    ``record`` is the request event; ``detail`` the supervisor's ``RequestDetail``
    (headers and body, redacted unless revealed) or None while it is not at hand;
    ``error`` the traceback the request raised; ``note`` says why there is no detail.
    """
    out = Text()
    out.append(f"#{record.id}  ", "dim")
    out.append(f"{display_text(record.method, 16)} ", "bold")
    out.append(display_text(target(record), 2000))
    out.append("\n")
    out.append_text(status_text(record.status))
    out.append(f"  {millis(record.duration)}  {fmt.size(record.size)}", "dim")
    out.append(f"  at {fmt.clock_time(record.time)}  from {display_text(record.remote_addr, 60)}", "dim")
    if record.replay:
        out.append("  ↻ replay", "bold cyan")
    if detail is not None and detail.revealed:
        out.append("  secrets shown", "bold black on yellow")
    out.append("\n")
    out.append_text(_pairs("Query", parse_qsl(record.query, keep_blank_values=True) if record.query else []))
    if detail is None:
        if note is not None:
            out.append("\n").append_text(note).append("\n")
    else:
        out.append_text(_pairs("Headers", [(name, value) for name, value in detail.request.headers]))
        text = detail.body_text(pretty=False)
        if text:
            out.append("\nBody", "bold underline")
            if detail.request.body_truncated:
                out.append(" (the first 64 KB)", "dim")
            out.append("\n")
            out.append_text(body_text(text, detail.content_type))
    if error is not None:
        out.append("\nTraceback\n", "bold underline")
        out.append(traceback_text(error.chain), "red")
    return out


class RequestDetail(VerticalScroll):
    """Scrolls the rendering of one request (keys: arrows, Page Up/Down)."""

    def compose(self) -> ComposeResult:
        yield Static(id="request-detail-text")

    def show(self, text: Text) -> None:
        self.query_one(Static).update(text)
        self.scroll_home(animate=False)
