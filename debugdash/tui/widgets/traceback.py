"""One traceback, frame by frame: the app's frames stand out, locals on Enter."""

from __future__ import annotations

from rich.style import Style
from rich.syntax import Syntax
from rich.text import Text
from textual import on
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from debugdash.protocol.events import ExceptionInfo, Frame, LoadError, RequestError
from debugdash.protocol.text import display_text
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
        lines += _exception_text(exception)
    return "\n".join(lines) + "\n"


def _exception_text(exception: ExceptionInfo) -> list[str]:
    lines = ["Traceback (most recent call last):"] if exception.frames else []
    for frame in exception.frames:
        lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.function}')
        lines += ["    " + line for line in statement_lines(frame)]
    lines.append(_exception_line(exception))
    lines += exception.notes
    for number, inner in enumerate(exception.exceptions, 1):
        lines.append(f"+---------------- {number} of {len(exception.exceptions)} ----------------")
        lines += ["| " + line for line in _exception_text(inner)]
    return lines


def statement_lines(frame: Frame) -> list[str]:
    """The frame's statement with carets under the part that failed, as Python prints it."""
    if not frame.statement:
        return [frame.source] if frame.source else []
    lines: list[str] = []
    for index, line in enumerate(frame.statement):
        lines.append(line)
        span = _marked(frame, index, line)
        if span is not None:
            lines.append(" " * span[0] + "^" * (span[1] - span[0]))
    return lines


def _marked(frame: Frame, index: int, line: str) -> tuple[int, int] | None:
    """Columns of ``frame.statement[index]`` that failed, if any."""
    if len(frame.highlight) != 4:
        return None
    first, col, last, end = frame.highlight
    if not first <= index <= last:
        return None
    start = col if index == first else len(line) - len(line.lstrip())
    stop = end if index == last else len(line.rstrip())
    return (start, stop) if stop > start else None


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
    def selected_place(self) -> tuple[int, int] | None:
        """(link of the chain, frame number) of the highlighted frame, as the console names frames.

        None when no frame is highlighted, or it belongs to an exception group's member.
        """
        option = self.highlighted_option
        if option is None or option.id is None or option.id not in self._frames:
            return None
        link, _, number = option.id.removeprefix("frame-").rpartition("-")
        return (int(link), int(number)) if link.isdigit() else None

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
            self._add_exception(options, exception, str(c))
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
        # The exception's own line (last) in view too, unless that hides the raising frame.
        self.call_after_refresh(self._end_in_view)

    def _end_in_view(self) -> None:
        self.scroll_end(animate=False, immediate=True)
        self.scroll_to_highlight()

    def _add_exception(self, options: list[Option], exception: ExceptionInfo, path: str) -> None:
        """Options for ``exception``'s frames and its line; those of a group's members after it."""
        for f, frame in enumerate(exception.frames):
            option_id = f"frame-{path}-{f}"
            self._frames[option_id] = frame
            options.append(Option(self._frame_prompt(frame, expanded=False), id=option_id))
        options.append(Option(self._exception_prompt(exception), disabled=True))
        for number, inner in enumerate(exception.exceptions, 1):
            heading = f"── {number} of {len(exception.exceptions)} in the group ──"
            options.append(Option(Text(heading, "italic dim"), disabled=True))
            self._add_exception(options, inner, f"{path}.{number}")

    def _frame_prompt(self, frame: Frame, *, expanded: bool) -> Text:
        where = Text()
        location = f"{fmt.short_path(frame.filename, self.root)}:{frame.lineno}"
        where.append(display_text(location), "bold" if frame.is_app else "dim")
        where.append(" in ", "dim")
        where.append(display_text(frame.function), "bold cyan" if frame.is_app else "dim")
        if frame.locals and not expanded:
            where.append(f"  ({len(frame.locals)} locals: Enter)", "dim italic")
        lines = [where]
        for index, line in enumerate(frame.statement or ([frame.source] if frame.source else [])):
            source = display_text(line)
            text = _source(source) if frame.is_app else Text(source, "dim")
            span = _marked(frame, index, source) if frame.statement else None
            if span is not None:
                text.stylize("bold underline", *span)
            lines.append(Text("    ") + text)
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
        for note in exception.notes:
            for line in _safe_lines(note, limit=5):
                text.append("\n" + line, "italic")
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
