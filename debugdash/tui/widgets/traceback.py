"""One traceback, frame by frame: the app's frames stand out, locals on Enter."""

from __future__ import annotations

from rich.style import Style
from rich.syntax import Syntax
from rich.text import Text
from textual import on
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from debugdash.core.events import ExceptionInfo, Frame, LoadError, RequestError
from debugdash.core.text import display_text
from debugdash.tui import format as fmt

_CHAIN_NOTES = {
    "cause": "The above exception was the direct cause of the following exception:",
    "context": "During handling of the above exception, another exception occurred:",
}


def traceback_text(chain: list[ExceptionInfo], heading: str = "") -> str:
    """The chain as plain text in Python's own traceback layout, for the clipboard."""
    lines = [heading, ""] if heading else []
    for index, exception in enumerate(chain):
        if index and exception.relation in _CHAIN_NOTES:
            lines += ["", _CHAIN_NOTES[exception.relation], ""]
        elif index:
            lines += [""]
        if exception.frames:
            lines.append("Traceback (most recent call last):")
        for frame in exception.frames:
            lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.function}')
            if frame.source:
                lines.append(f"    {frame.source}")
        lines.append(_exception_line(exception))
    return "\n".join(lines) + "\n"


def _exception_line(exception: ExceptionInfo) -> str:
    return f"{exception.type}: {exception.message}" if exception.message else exception.type


def _safe_lines(text: str, limit: int = 20) -> list[str]:
    lines = [display_text(line) for line in text.splitlines()] or [""]
    if len(lines) > limit:
        lines = lines[:limit] + [f"… [{len(lines) - limit} more lines]"]
    return lines


def _source(code: str) -> Text:
    # ANSI theme colours and no background: readable on 8-colour `screen` terminals too.
    highlighted = Syntax(code, "python", theme="ansi_dark").highlight(code)
    # Keep the token colours only: any background would paint a block behind the line.
    text = Text(highlighted.plain.rstrip())
    for span in highlighted.spans:
        style = span.style if isinstance(span.style, Style) else Style.parse(span.style)
        if style.color is not None:
            text.stylize(Style(color=style.color, bold=style.bold, italic=style.italic), span.start, span.end)
    return text


class TracebackView(OptionList):
    """The selected group's latest traceback; the highlighted frame is what ``e`` opens."""

    def __init__(self, *, root: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.root = root
        self._shown: object = None
        self._frames: dict[str, Frame] = {}
        self._expanded: set[str] = set()
        self._chain: list[ExceptionInfo] = []
        self._heading = ""

    # --- what to show -------------------------------------------------------

    def show_request_error(self, event: RequestError) -> None:
        if event is self._shown:
            return
        heading = f"{event.method} {event.path} from {event.remote_addr or '?'} at {fmt.clock_time(event.time)}"
        if event.streaming:
            heading += " (while streaming the response)"
        self._show(event, event.chain, display_text(heading))

    def show_load_error(self, event: LoadError) -> None:
        if event is self._shown:
            return
        chain = [event.exception] if event.exception else []
        heading = "The app could not be loaded: " + display_text(event.message)
        if event.filename:
            heading += f" ({event.filename}:{event.lineno or '?'})"
        self._show(event, chain, heading)

    def show_message(self, message: str) -> None:
        self._shown = None
        self._chain, self._heading, self._frames = [], "", {}
        self.clear_options()
        self.add_option(Option(Text(message, "dim"), disabled=True))

    @property
    def selected_frame(self) -> Frame | None:
        option = self.highlighted_option
        if option is None or option.id is None:
            return None
        return self._frames.get(option.id)

    @property
    def has_traceback(self) -> bool:
        return bool(self._chain or self._heading)

    def plain_text(self) -> str:
        return traceback_text(self._chain, self._heading)

    # --- building -----------------------------------------------------------

    def _show(self, event: object, chain: list[ExceptionInfo], heading: str) -> None:
        self._shown = event
        self._chain, self._heading = chain, heading
        self._frames, self._expanded = {}, set()
        options: list[Option] = [Option(Text(heading, "bold"), disabled=True)]
        focus_id: str | None = None
        for c, exception in enumerate(chain):
            if c:
                note = _CHAIN_NOTES.get(exception.relation or "", "")
                options.append(Option(Text(note or " ", "italic dim"), disabled=True))
            for f, frame in enumerate(exception.frames):
                option_id = f"frame-{c}-{f}"
                self._frames[option_id] = frame
                options.append(Option(self._frame_prompt(frame, expanded=False), id=option_id))
            options.append(Option(self._exception_prompt(exception), disabled=True))
        if chain:
            raised = chain[-1].raised_at
            for option_id, frame in self._frames.items():
                if frame is raised and option_id.startswith(f"frame-{len(chain) - 1}-"):
                    focus_id = option_id
        self.clear_options()
        self.add_options(options)
        if focus_id is not None:
            self.highlighted = self.get_option_index(focus_id)
        elif self._frames:
            self.highlighted = self.get_option_index(next(reversed(self._frames)))

    def _frame_prompt(self, frame: Frame, *, expanded: bool) -> Text:
        where = Text()
        location = f"{fmt.short_path(frame.filename, self.root)}:{frame.lineno}"
        where.append(display_text(location), "bold" if frame.is_app else "dim")
        where.append(" in ", "dim")
        where.append(display_text(frame.function), "bold cyan" if frame.is_app else "dim")
        if frame.locals and not expanded:
            where.append(f"  ({len(frame.locals)} locals: Enter)", "dim italic")
        lines = [where]
        if frame.source:
            source = display_text(frame.source)
            lines.append(Text("    ") + (_source(source) if frame.is_app else Text(source, "dim")))
        if expanded:
            for name, value in frame.locals.items():
                local = Text("      ")
                local.append(display_text(name, 80), "italic")
                local.append(" = ", "dim")
                local.append(display_text(value, 300))
                lines.append(local)
        return Text("\n").join(lines)

    def _exception_prompt(self, exception: ExceptionInfo) -> Text:
        lines = _safe_lines(exception.message)
        text = Text(display_text(exception.type, 200), "bold red")
        if exception.message:
            text.append(": ", "bold red")
            text.append(lines[0], "red")
            for line in lines[1:]:
                text.append("\n" + line, "red")
        return text

    @on(OptionList.OptionSelected)
    def _toggle_locals(self, message: OptionList.OptionSelected) -> None:
        message.stop()
        option_id = message.option.id
        frame = self._frames.get(option_id or "")
        if frame is None or not frame.locals:
            return
        expanded = option_id not in self._expanded
        if expanded:
            self._expanded.add(option_id)
        else:
            self._expanded.discard(option_id)
        self.replace_option_prompt(option_id, self._frame_prompt(frame, expanded=expanded))
