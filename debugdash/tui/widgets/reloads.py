"""The reloads: when, which file, how long until the new worker was ready."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from debugdash.protocol.events import LoadError, Reload
from debugdash.core.state import ReloadRecord, SessionState
from debugdash.protocol.text import display_text
from debugdash.tui import format as fmt
from debugdash.tui.widgets.table import MeasuredTable


def load_error_line(error: LoadError) -> str:
    """One line saying why the app could not load, e.g. ``SyntaxError: '(' was never closed``."""
    message = error.message.splitlines()[0] if error.message else ""
    if error.exception is not None and not message.startswith(error.exception.type):
        message = f"{error.exception.type}: {message}" if message else error.exception.type
    return display_text(message or "the app could not be loaded", 300)


EMPTY_HINT = (
    "No reloads yet. Save a file of the app: the reloader restarts the server, and each reload shows here "
    "with the file and the time from its save to the new code serving."
)
#: How each reload's worker came to be, as the note of its row.
VIA = {"template": "forked from the template", "spare": "warm spare", "fresh": "new process"}
RELOADER_OFF_HINT = "The reloader is off: saved files are not picked up. Press l to turn it on."


def written_at(filename: str, reloaded: float) -> float | None:
    """When ``filename`` was last written (its mtime), if that is what this reload saw."""
    try:
        mtime = os.stat(filename).st_mtime
    except OSError:
        return None
    # Written again since (or a clock that disagrees): no honest figure.
    return mtime if mtime <= reloaded + 1.0 else None


class ReloadList(MeasuredTable):
    """Newest reload first; a load error that followed shows on its row.

    The time shown runs from the file's write (its mtime, read when the reload
    was reported) to the new worker serving; from the reload itself when the
    file's mtime is unknown.
    """

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_column("time", key="time", width=8)
        self.add_column("file", key="file")
        self.add_column("served in", key="ready", width=9)
        self.add_column("", key="note")

    def show(self, reloads: Iterable[ReloadRecord], root: str | None = None, written: dict[tuple[float, str], float] | None = None) -> None:
        """``written``: when each reloaded file was written, by (reload time, file name)."""
        self.clear()
        for record in reversed(list(reloads)):
            if record.ready_after is not None:
                write = (written or {}).get((record.time, record.filename), record.time)
                ready = Text(fmt.seconds(record.time + record.ready_after - min(write, record.time)), "green")
            else:
                ready = Text("…", "yellow")
            note = Text(VIA.get(record.via, ""), "dim")
            if record.load_error is not None:
                note = Text(load_error_line(record.load_error), "bold red")
            self.add_row(
                Text(fmt.clock_time(record.time), "dim"),
                Text(display_text(fmt.short_path(record.filename, root))),
                ready,
                note,
            )


class ReloadsPane(Vertical):
    """The reload list, or a hint while there is none; notes each reloaded file's write time."""

    def __init__(self, *, root: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._root = root
        #: When each reloaded file was written, by (reload time, file name).
        self._written: dict[tuple[float, str], float] = {}

    def compose(self) -> ComposeResult:
        yield ReloadList(id="reloads-table")
        yield Static(id="reloads-empty")

    def reloaded(self, event: Reload) -> None:
        """Read the file's mtime now, as the reload is reported: a later save would move it."""
        written = written_at(event.filename, event.time)
        if written is not None:
            self._written[(event.time, event.filename)] = written

    def show(self, state: SessionState) -> None:
        table = self.query_one(ReloadList)
        table.display = bool(state.reloads)
        table.show(state.reloads, self._root, self._written)
        hint = self.query_one("#reloads-empty", Static)
        hint.display = not state.reloads
        off = state.toggles is not None and not state.toggles.reloader
        hint.update(RELOADER_OFF_HINT if off else EMPTY_HINT)
