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
from debugdash.protocol.text import display_text
from debugdash.tui import format as fmt
from debugdash.tui.widgets.requests import millis, status_text, target
from debugdash.tui.widgets.traceback import traceback_text

REDACTED = "[redacted]"
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


def render_detail(record: Any, full: Any | None, error: RequestError | None, *, revealed: bool = False, root: str | None = None) -> Text:
    """Everything known about one request.

    ``record`` is the request event; ``full`` the kept request (headers, body) or
    None when the agent kept none; ``error`` the traceback it raised.
    """
    out = Text()
    out.append(f"{display_text(record.method, 16)} ", "bold")
    out.append(display_text(target(record), 2000))
    out.append("\n")
    out.append_text(status_text(record.status))
    out.append(f"  {millis(record.duration)}", "dim")
    out.append(f"  {fmt.size(record.size)}", "dim")
    out.append(f"  at {fmt.clock_time(record.time)}  from {display_text(record.remote_addr, 60)}", "dim")
    if record.replay:
        out.append(f"  ↻ replay ({display_text(record.replay, 40)})", "bold cyan")
    if revealed:
        out.append("  secrets shown", "bold black on yellow")
    out.append("\n")
    out.append_text(_pairs("Query", parse_qsl(record.query, keep_blank_values=True) if record.query else []))
    if full is None:
        out.append("\nHeaders and body were not kept for this request (only failed or selected ones are).\n", "dim")
    else:
        out.append_text(_pairs("Headers", full.headers))
        if full.body:
            out.append("\nBody", "bold underline")
            if getattr(full, "truncated", False):
                out.append(" (first 64 KB)", "dim")
            out.append("\n")
            out.append_text(body_text(full.body, full.content_type or ""))
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
