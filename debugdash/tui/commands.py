"""The dashboard's keys, and the command palette (Ctrl+P) offering every one of them by name."""

from __future__ import annotations

from functools import partial

from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider

TABS = ("errors", "log", "reloads", "access", "attach")

#: The footer shows those with show=True (the narrow footer leaves out x, e, c).
KEYS: list[BindingType] = [
    Binding("r", "restart", "Restart"),
    Binding("d", "toggle_debugger", "Debugger"),
    Binding("l", "toggle_reloader", "Reloader"),
    Binding("a", "toggle_attach", "Attach"),
    Binding("g", "grant", "Grant"),
    Binding("x", "revoke", "Revoke"),
    Binding("e", "edit", "Edit"),
    Binding("c", "copy", "Copy"),
    Binding("i", "console", "Console", show=False),
    Binding("delete", "clear_error", "Clear error", show=False),
    Binding("C", "clear_errors", "Clear all errors", show=False),
    Binding("s", "save_log", "Save log", show=False),
    Binding("question_mark", "help", "Help", key_display="?"),
    Binding("q", "quit", "Quit"),
    # Ctrl-C ends `flask run`; it ends this too (Textual would only hint at Ctrl-Q).
    Binding("ctrl+c", "ctrl_c", "Quit", show=False, priority=True),
    *(Binding(str(n), f"show_tab('{tab}')", tab.title(), show=False) for n, tab in enumerate(TABS, 1)),
]

#: (title, help, action) — the same actions the keys run.
COMMANDS: list[tuple[str, str, str]] = [
    ("Restart the server", "r", "restart"),
    ("Toggle the debugger", "d · a live switch, no restart", "toggle_debugger"),
    ("Toggle the reloader", "l · restarts the server", "toggle_reloader"),
    ("Toggle external attach (debugpy)", "a", "toggle_attach"),
    ("Toggle Flask debug mode", "restarts the server", "toggle_debug"),
    ("Grant remote access", "g · an address, a duration, debugger/attach", "grant"),
    ("Revoke the highlighted remote access", "x", "revoke"),
    ("Revoke all remote access", "ends every grant now", "revoke_all"),
    ("New debugger PIN", "browsers unlocked with the old PIN must unlock again", "new_pin"),
    ("Clear the highlighted error group", "Delete", "clear_error"),
    ("Clear all errors", "C", "clear_errors"),
    ("Open the highlighted frame in $EDITOR", "e", "edit"),
    ("Copy the traceback (or attach help)", "c · OSC 52, works over SSH", "copy"),
    ("Console in the highlighted frame", "i · Python in the failing request's frame", "console"),
    ("Save the log to a file", "s · in the app's folder, readable by you only", "save_log"),
    ("Show errors", "1", "show_tab('errors')"),
    ("Show the server log", "2", "show_tab('log')"),
    ("Show reloads", "3", "show_tab('reloads')"),
    ("Show remote access", "4", "show_tab('access')"),
    ("Show external attach", "5", "show_tab('attach')"),
    ("Help: every key", "?", "help"),
    ("Quit", "q · stops the server", "quit"),
]


class DashboardCommands(Provider):
    """Offers each dashboard action; runs it exactly as its key would."""

    async def discover(self) -> Hits:
        for title, help, action in COMMANDS:
            yield DiscoveryHit(title, partial(self.app.run_action, action), help=help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help, action in COMMANDS:
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self.app.run_action, action), help=help)
