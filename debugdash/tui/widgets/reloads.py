"""The reloads: when, which file, how long until the new worker was ready."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.widgets import DataTable

from debugdash.core.state import ReloadRecord
from debugdash.core.text import display_text
from debugdash.tui import format as fmt


class ReloadList(DataTable):
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
                note = Text(display_text(record.load_error.message.splitlines()[0] if record.load_error.message else "load error", 200), "bold red")
            self.add_row(
                Text(fmt.clock_time(record.time), "dim"),
                Text(display_text(fmt.short_path(record.filename, root))),
                ready,
                note,
            )
