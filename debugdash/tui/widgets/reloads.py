"""The reloads: when, which file, how long until the new worker was ready."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text

from debugdash.protocol.events import LoadError
from debugdash.core.state import ReloadRecord
from debugdash.protocol.text import display_text
from debugdash.tui import format as fmt
from debugdash.tui.widgets.table import MeasuredTable


def load_error_line(error: LoadError) -> str:
    """One line saying why the app could not load, e.g. ``SyntaxError: '(' was never closed``."""
    message = error.message.splitlines()[0] if error.message else ""
    if error.exception is not None and not message.startswith(error.exception.type):
        message = f"{error.exception.type}: {message}" if message else error.exception.type
    return display_text(message or "the app could not be loaded", 300)


class ReloadList(MeasuredTable):
    """Newest reload first; a load error that followed shows on its row."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_column("time", key="time", width=8)
        self.add_column("file", key="file")
        self.add_column("ready in", key="ready", width=8)
        self.add_column("", key="note")

    def show(self, reloads: Iterable[ReloadRecord], root: str | None = None) -> None:
        self.clear()
        for record in reversed(list(reloads)):
            if record.ready_after is not None:
                ready = Text(fmt.seconds(record.ready_after), "green")
            else:
                ready = Text("…", "yellow")
            note = Text()
            if record.load_error is not None:
                note = Text(load_error_line(record.load_error), "bold red")
            self.add_row(
                Text(fmt.clock_time(record.time), "dim"),
                Text(display_text(fmt.short_path(record.filename, root))),
                ready,
                note,
            )
