"""External attach: the debugpy port, who is attached, and how to connect."""

from __future__ import annotations


from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from debugdash.core.state import AttachState
from debugdash.protocol.control import AttachInfo
from debugdash.protocol.text import display_text
from debugdash.tui import format as fmt
from debugdash.tui.widgets import debug_session


def attach_help_text(help: AttachInfo | None) -> str:
    """The tunnel command and launch.json as plain text, for the clipboard."""
    if not help:
        return ""
    parts = []
    if help.tunnel:
        parts.append(f"# SSH tunnel, run on your machine:\n{help.tunnel}")
    if help.launch_json:
        parts.append(f"# VS Code launch.json configuration:\n{help.launch_json}")
    return "\n\n".join(parts) + "\n"


class AttachPanel(VerticalScroll, can_focus=True):
    """Attach status and connection help; ``c`` copies the help while this has focus."""

    def compose(self) -> ComposeResult:
        yield Static(id="attach-body")

    def show(self, enabled: bool, attach: AttachState, help: AttachInfo | None, now_wall: float) -> None:
        text = Text()
        if not enabled:
            text.append("External attach is off. ", "bold")
            text.append(
                "Press a to start debugpy inside the server; the built-in debugger turns off while it is on. "
                "The IDE stays attached across reloads, and a save while it holds the app stopped waits."
            )
        else:
            if attach.listening and attach.port:
                text.append("debugpy listening on ", "bold")
                text.append(f"{attach.host or '127.0.0.1'}:{attach.port}", "bold green")
            else:
                text.append("debugpy is starting…", "bold yellow")
            text.append("\n")
            if attach.client:
                since = fmt.duration(now_wall - attach.client_since) if attach.client_since else "?"
                text.append("client ", "bold")
                text.append(display_text(attach.client), "bold magenta")
                text.append(f" attached for {since}")
            else:
                text.append("no client attached", "dim")
            if session := debug_session.lines(attach):
                text.append("\n")
                text.append_text(session)
            if help:
                if help.tunnel:
                    text.append("\n\nSSH tunnel (run on your machine):\n", "bold")
                    text.append("  " + display_text(help.tunnel))
                if help.launch_json:
                    text.append("\n\nVS Code launch.json:\n", "bold")
                    text.append(help.launch_json)
                text.append("\n\nPress c to copy both.", "dim")
        self.query_one("#attach-body", Static).update(text)
