"""The console under the traceback: Python evaluated in a kept frame of the failing request.

What is typed goes to the frame's console inside the server (through the
supervisor, never the network) and the answer comes back: printed output, the
value's repr or the expression's traceback. The line works like Python's own
prompt: a statement that opens a block (``for …:``) continues on ``...`` lines
until an empty one; ↑/↓ walk the history; Tab completes names and attributes;
Ctrl-C interrupts a running evaluation (or clears the line); Esc closes.

The evaluation runs in a worker, so the dashboard never waits on it.
"""

from __future__ import annotations

import codeop
import os
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, RichLog, Static

from debugdash.core.errors import UserInputError

#: Lines of history kept per console.
MAX_HISTORY = 200
#: Lines of the transcript kept.
MAX_TRANSCRIPT = 2000


@dataclass(slots=True)
class ConsoleCalls:
    """What a console may ask of the session for its frame (the supervisor's calls, bound to it)."""

    #: The frame, as the title shows it: "app.py:12 in checkout (occurrence 4242-7)".
    title: str
    evaluate: Callable[[str], Awaitable[Any]]
    complete: Callable[[str], Awaitable[list[str]]]
    interrupt: Callable[[], Awaitable[Any]]
    #: Raises UserInputError saying why when the frame is gone ("frames released: ...").
    check: Callable[[], Awaitable[Any]]


class ConsoleInput(Input):
    """The console's line: history and completion keys on top of an Input."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Tab completes here; it moves between panels everywhere else.
        Binding("tab", "complete", "Complete", show=False, priority=True),
        Binding("up", "history(-1)", "Older", show=False),
        Binding("down", "history(1)", "Newer", show=False),
    ]

    class CompleteAsked(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.history: list[str] = []
        self._place = 0

    def remember(self, line: str) -> None:
        if line.strip() and (not self.history or self.history[-1] != line):
            self.history.append(line)
            del self.history[:-MAX_HISTORY]
        self._place = len(self.history)

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        self._place = max(0, min(len(self.history), self._place + step))
        self.value = self.history[self._place] if self._place < len(self.history) else ""
        self.cursor_position = len(self.value)

    def action_complete(self) -> None:
        self.post_message(self.CompleteAsked(self.value[: self.cursor_position]))


class FrameConsole(Vertical):
    """A console bound to one frame; hidden until ``open``."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close console", show=False)]

    class Closed(Message):
        """The user closed the console (Esc)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls: ConsoleCalls | None = None
        self._pending: list[str] = []
        self.running = False

    def compose(self) -> ComposeResult:
        yield Static(id="console-title")
        yield RichLog(id="console-log", wrap=True, markup=False, highlight=False, max_lines=MAX_TRANSCRIPT)
        yield ConsoleInput(id="console-input", compact=True, placeholder="Python in this frame · Tab completes · Esc closes")

    def on_mount(self) -> None:
        self.display = False

    # --- opening and closing -----------------------------------------------------

    def open(self, calls: ConsoleCalls) -> None:
        """Bind the console to a frame (a new frame starts a new transcript) and focus its line."""
        if self.calls is None or self.calls.title != calls.title:
            self.query_one(RichLog).clear()
            self._pending = []
            self._say(Text("Evaluated in the server, in this frame; state is kept per frame. Ctrl-C interrupts.", "dim"))
        self.calls = calls
        self.query_one("#console-title", Static).update(Text.assemble(("console ", "bold"), (calls.title, "bold cyan")))
        self.display = True
        self.query_one(ConsoleInput).focus()
        self._check(calls)

    @work(group="console-check", exclusive=True)
    async def _check(self, calls: ConsoleCalls) -> None:
        try:
            await calls.check()
        except UserInputError as e:
            self._say(Text(str(e), "yellow"))

    def action_close(self) -> None:
        if self.running and self.calls is not None:
            self._interrupt(self.calls)  # a loop nobody watches any more must not run on in the server
        self.display = False
        self.post_message(self.Closed())

    # --- Ctrl-C ------------------------------------------------------------------------

    def ctrl_c(self) -> None:
        """Interrupt the running evaluation; with none running, drop the line being typed."""
        if self.running and self.calls is not None:
            self._interrupt(self.calls)
            return
        line = self.query_one(ConsoleInput)
        if line.value or self._pending:
            self._say(Text(self._prompt() + line.value + "  ^C", "dim"))
        line.value = ""
        self._pending = []
        self._show_prompt()

    @work(group="console-interrupt")
    async def _interrupt(self, calls: ConsoleCalls) -> None:
        try:
            await calls.interrupt()
        except UserInputError as e:
            self._say(Text(str(e), "yellow"))

    # --- evaluating --------------------------------------------------------------------

    @on(Input.Submitted, "#console-input")
    def _submitted(self, message: Input.Submitted) -> None:
        message.stop()
        line = message.value
        field = self.query_one(ConsoleInput)
        if self.running:
            self.app.notify("An evaluation is still running: Ctrl-C interrupts it.", severity="warning")
            return
        field.remember(line)
        self._say(Text(self._prompt() + line, "bold"))
        field.value = ""
        self._pending.append(line)
        source = "\n".join(self._pending)
        if line.strip() and not _complete(source):
            self._show_prompt()
            return
        self._pending = []
        self._show_prompt()
        if source.strip() and self.calls is not None:
            self.running = True
            self._evaluate(self.calls, source)

    @work(group="console", exclusive=False)
    async def _evaluate(self, calls: ConsoleCalls, source: str) -> None:
        try:
            result = await calls.evaluate(source)
        except UserInputError as e:
            self._say(Text(str(e), "yellow"))
            return
        except Exception as e:  # noqa: BLE001  a failed evaluation must not take the dashboard down
            self._say(Text(f"the evaluation did not come back: {type(e).__name__}: {e}", "yellow"))
            return
        finally:
            self.running = False
        if result.output:
            self._say(Text(result.output.rstrip("\n")))
        if result.raised:
            self._say(Text(result.traceback.rstrip("\n"), "red"))
        elif result.value:
            self._say(Text(result.value, "green"))

    # --- completion --------------------------------------------------------------------

    @on(ConsoleInput.CompleteAsked)
    def _complete_asked(self, message: ConsoleInput.CompleteAsked) -> None:
        message.stop()
        if self.calls is not None:
            self._complete(self.calls, message.text)

    @work(group="console-complete", exclusive=True)
    async def _complete(self, calls: ConsoleCalls, before: str) -> None:
        try:
            matches = await calls.complete(before)
        except UserInputError as e:
            self._say(Text(str(e), "yellow"))
            return
        if not matches:
            return
        field = self.query_one(ConsoleInput)
        if field.value[: field.cursor_position] != before:
            return  # typed on meanwhile: the answer is for another line
        word = _word_at_end(before)
        common = os.path.commonprefix(matches)
        if len(common) > len(word):
            after = field.value[field.cursor_position :]
            field.value = before[: len(before) - len(word)] + common + after
            field.cursor_position = len(before) - len(word) + len(common)
        if len(matches) > 1:
            self._say(Text("  ".join(matches[:60]) + ("  …" if len(matches) > 60 else ""), "dim"))

    # --- inside --------------------------------------------------------------------------

    def _prompt(self) -> str:
        return "... " if self._pending else ">>> "

    def _show_prompt(self) -> None:
        self.query_one(ConsoleInput).placeholder = "... (an empty line ends the block)" if self._pending else "Python in this frame · Tab completes · Esc closes"

    def _say(self, text: Text) -> None:
        self.query_one(RichLog).write(text)


def _complete(source: str) -> bool:
    """Whether ``source`` is a whole statement, as Python's own prompt decides (errors count as whole)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. an invalid escape sequence: the server says so
            return codeop.compile_command(source, "<console>", "exec") is not None
    except (SyntaxError, ValueError, OverflowError):
        return True


def _word_at_end(text: str) -> str:
    end = len(text)
    start = end
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_."):
        start -= 1
    return text[start:end]
