"""The dashboard's console keys (issue 13): ``i`` opens a console in the highlighted
frame; Ctrl-C interrupts its evaluation while it has the focus (and quits otherwise,
as it always did); clearing an error group lets the server release its frames.

A mixin of ``DashboardApp``, kept apart so that the app shell stays small.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import TabbedContent

from debugdash.core.state import SessionState
from debugdash.tui import format as fmt
from debugdash.tui.widgets.console import ConsoleCalls, FrameConsole
from debugdash.tui.widgets.errors_pane import ErrorsPane
from debugdash.tui.widgets.traceback import TracebackView


def clear_errors(state: SessionState, console: Any, key: tuple[str, str, int] | None = None) -> None:
    """Forget a group (all with None) on screen, and let the server release their kept frames."""
    state.clear_errors(key)
    console.release(key)


class ConsoleKeys:
    """``action_console`` and ``action_ctrl_c`` for an app with ``sup``, an ErrorsPane and a root folder."""

    sup: Any
    _root: str

    def action_console(self) -> None:
        """``i``: a console bound to the highlighted frame of the highlighted group's newest occurrence."""
        app: Any = self
        pane = app.query_one(ErrorsPane)
        group = pane.highlighted_group()
        place = app.query_one(TracebackView).selected_place
        if app.query_one(TabbedContent).active != "errors" or group is None or place is None:
            app.action_show_tab("errors")
            app.notify("Highlight a frame of a traceback and press i for a console in it.")
            return
        occurrence = group.latest.occurrence
        if not occurrence:
            app.notify("This error came from a server without console support.", severity="warning")
            return
        link, number = place
        frame = group.latest.chain[link].frames[number]
        console = self.sup.console
        pane.open_console(
            ConsoleCalls(
                title=f"{fmt.short_path(frame.filename, self._root)}:{frame.lineno} in {frame.function} · {occurrence}",
                evaluate=lambda code: console.evaluate(occurrence, code, frame=number, link=link),
                complete=lambda text: console.complete(occurrence, text, frame=number, link=link),
                interrupt=lambda: console.interrupt(occurrence, frame=number, link=link),
                # Completing nothing still looks the frame up: gone, it says why ("frames released: ...").
                check=lambda: console.complete(occurrence, "", frame=number, link=link),
            )
        )

    async def action_ctrl_c(self) -> None:
        """Ctrl-C interrupts the console's evaluation while the console has the focus; it quits otherwise."""
        app: Any = self
        console = app.query_one(FrameConsole)
        if console.display and console.has_focus_within:
            console.ctrl_c()
            return
        await app.action_quit()
