"""The banner under the switches: why the server is not serving (a crash, an app that
does not load, an IDE holding it stopped)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from debugdash.core.state import SessionState
from debugdash.protocol.text import display_text
from debugdash.tui.widgets import debug_session
from debugdash.tui.widgets.reloads import load_error_line


class Banner(Static):
    """Hidden while all is well."""

    def show(self, state: SessionState) -> None:
        if state.phase == "crashed" and state.last_exit is not None:
            exit = state.last_exit
            text = Text(f"The server exited (code {exit.returncode}).", "bold")
            text.append(" It restarts when you save a file, or press r.\n", "")
            for line in exit.last_lines[-8:]:
                text.append(display_text(line) + "\n", "dim")
            text.rstrip()
            self.say(text)
        elif state.load_error is not None:
            error = state.load_error
            text = Text("The app could not be loaded: ", "bold")
            text.append(load_error_line(error))
            if error.filename:
                text.append(f"  ({display_text(error.filename)}:{error.lineno or '?'})", "dim")
            self.say(text)
        elif paused := debug_session.lines(state.attach):
            self.say(paused)
        else:
            self.display = False

    def say(self, text: Text) -> None:
        self.update(text)
        self.display = True
