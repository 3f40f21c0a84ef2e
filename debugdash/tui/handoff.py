"""Handing things to the outside: a traceback frame to $EDITOR, text to the clipboard."""

from __future__ import annotations

import os
import shlex
import subprocess
from typing import Any

from textual.app import App, SuspendNotSupported

from debugdash.protocol.control import AttachInfo
from debugdash.protocol.events import Frame
from debugdash.tui.widgets.attach import attach_help_text
from debugdash.tui.widgets.traceback import TracebackView


def open_in_editor(app: App[Any], frame: Frame | None) -> None:
    """Run $VISUAL/$EDITOR on the frame's file at its line, the dashboard suspended meanwhile."""
    if frame is None:
        app.notify("Highlight a frame in a traceback first (Errors tab).", severity="warning")
        return
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        app.notify("Set $EDITOR to open frames, e.g. export EDITOR=vim", severity="warning", timeout=8)
        return
    if not os.path.exists(frame.filename):
        app.notify(f"{frame.filename} is not on this machine.", severity="warning", markup=False)
        return
    try:
        command = [*shlex.split(editor), f"+{frame.lineno}", frame.filename]
    except ValueError as e:  # an unclosed quote
        app.notify(f"Could not read $EDITOR {editor!r}: {e}", severity="error", markup=False)
        return
    try:
        with app.suspend():
            # Caught in here: Textual resumes the dashboard only when the block
            # ends normally (an editor not found left the terminal to nobody).
            result = _run(command)
    except SuspendNotSupported:
        result = _run(command, stdin=subprocess.DEVNULL)
    if isinstance(result, OSError):
        app.notify(f"Could not run {editor}: {result.strerror}", severity="error", markup=False)
    elif result.returncode:
        app.notify(f"{editor} exited with code {result.returncode}", severity="warning", markup=False)


def _run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes] | OSError:
    try:
        return subprocess.run(command, check=False, **kwargs)
    except OSError as e:
        return e


def copy_shown(app: App[Any], tab: str, attach_help: AttachInfo | None, view: TracebackView) -> None:
    """Copy (OSC 52) what the tab shows: the attach help on the Attach tab, else the traceback."""
    if tab == "attach":
        text = attach_help_text(attach_help)
        if not text:
            app.notify("External attach is off: nothing to copy. Press a to turn it on.", severity="warning")
            return
        app.copy_to_clipboard(text)
        app.notify("Tunnel command and launch.json copied.")
        return
    if not view.has_traceback:
        app.notify("No traceback to copy yet.", severity="warning")
        return
    text = view.plain_text()
    app.copy_to_clipboard(text)
    app.notify(f"Traceback copied ({text.count(chr(10))} lines).")
