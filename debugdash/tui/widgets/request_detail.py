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

from debugdash.protocol.events import RequestError
from debugdash.protocol.request_events import RequestRecord
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


def _json_lines(value: Any) -> list[Text]:
    """JSON indented, a line each; string values equal to the redaction marker stand out."""
    quoted = json.dumps(REDACTED)
    lines = []
    for raw in json.dumps(value, indent=2, ensure_ascii=False).splitlines():
        line = Text(display_text(raw, 2000))
        start = line.plain.find(quoted)
        if start >= 0:
            line.stylize("italic magenta", start, start + len(quoted))
        lines.append(line)
    return lines


def _form_lines(body: str) -> list[Text]:
    return [
        Text.assemble((f"  {display_text(name, 200)} = ", "cyan"), _value(value))
        for name, value in parse_qsl(body, keep_blank_values=True)
    ]


def body_text(body: str, content_type: str) -> Text:
    """The body as the developer wants to read it: JSON indented, a form one field a
    line, anything else as text; at most BODY_LINES lines."""
    kind = content_type.split(";")[0].strip().lower()
    lines: list[Text] | None = None
    if kind == "application/json" or kind.endswith("+json"):
        try:
            lines = _json_lines(json.loads(body))
        except ValueError:
            pass
    elif kind == "application/x-www-form-urlencoded":
        lines = _form_lines(body)
    if lines is None:
        lines = [Text(display_text(line, 2000)) for line in body.splitlines()]
    out = Text("\n").join(lines[:BODY_LINES])
    out.append("\n")
    if len(lines) > BODY_LINES:
        out.append(f"… {len(lines) - BODY_LINES} more lines (C copies all of it as curl)\n", "dim")
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
