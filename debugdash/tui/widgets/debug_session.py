"""The attached IDE's debug session in words: where it holds the app stopped, and the reload that waits."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from rich.text import Text

from debugdash.core.state import AttachState
from debugdash.protocol.session_events import DebugPaused
from debugdash.protocol.text import display_text
from debugdash.tui.screens.confirm import ConfirmScreen


def where(paused: DebugPaused) -> str:
    """``views.py:42 in total()``, the thread named after it when known."""
    place = f"{os.path.basename(paused.filename) or '?'}:{paused.line or '?'}"
    if paused.function:
        place += f" in {paused.function}()"
    if paused.thread:
        place += f" [{paused.thread}]"
    return display_text(place, limit=120)


def lines(attach: AttachState) -> Text:
    """Empty while the app runs; else ``paused at …`` and, when a save waits, what to do."""
    text = Text()
    if attach.paused is not None:
        text.append("paused", "bold yellow")
        text.append(f" at {where(attach.paused)}")
    if attach.reload_pending is not None:
        if text:
            text.append("\n")
        text.append("reload pending", "bold yellow")
        name = display_text(os.path.basename(attach.reload_pending), limit=60)
        text.append(f" — continue to apply ({name} saved; r forces it)")
    return text


def restart_question(attach: AttachState) -> Text | None:
    """What to ask before `r` while the IDE holds the app stopped; None when nothing is at stake."""
    if attach.paused is None and attach.reload_pending is None:
        return None
    question = Text("The IDE holds the app stopped", "bold")
    if attach.paused is not None:
        question.append(f" at {where(attach.paused)}")
    question.append(".\nRestart anyway? The paused request is lost; the IDE stays attached.")
    return question


def ask_before_restart(push_screen: Callable[..., Any], attach: AttachState, restart: Callable[[], None]) -> None:
    """``restart()`` at once, or after a yes while the IDE holds the app stopped (the paused request is lost)."""
    question = restart_question(attach)
    if question is None:
        restart()
    else:
        push_screen(ConfirmScreen(question, "Restart"), lambda yes: restart() if yes else None)
