"""The help screen: every key, in one place."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

#: (key, what it does) — the dashboard's keys, in the order DESIGN.md lists them.
KEYS: list[tuple[str, str]] = [
    ("r", "restart the server"),
    ("d", "debugger on/off (a live switch, no restart)"),
    ("l", "reloader on/off (restarts the server)"),
    ("a", "external attach (debugpy) on/off"),
    ("g", "grant an address remote debugger/attach access, with a time limit"),
    ("x", "revoke the highlighted remote-access entry"),
    ("e", "open the highlighted frame in $EDITOR at its line"),
    ("c", "copy the traceback (on the Attach tab: tunnel + launch.json)"),
    ("i", "Python console in the highlighted frame (Ctrl-C interrupts, Esc closes)"),
    ("?", "this help"),
    ("q", "quit: stop the server and leave"),
    ("ctrl+p", "command palette: every action by name"),
    ("1-5", "tabs: errors, log, reloads, access, attach"),
    ("del, C", "errors: clear the highlighted group, clear all"),
    ("tab", "move between panels"),
    ("enter", "in a traceback: show or hide a frame's locals"),
    ("/, s", "log: search (n older match, N newer, f follow, Esc close); save"),
]


class HelpScreen(ModalScreen[None]):
    """Lists every key; any of Escape, ? or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "close", "Close")]

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for key, what in KEYS:
            table.add_row(Text(key), Text(what))
        with VerticalScroll(id="help-dialog"):
            yield Static(Text("debugdash keys", "bold"), id="help-title")
            yield Static(table)
            yield Static(Text("Esc, ? or q closes this.", "dim"), id="help-footer")

    def action_close(self) -> None:
        self.dismiss(None)
