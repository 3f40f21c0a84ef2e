"""The grant modal: who, for how long, to what — checked as you type."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Static,
)

from debugdash.core.allowlist import WIDE_V4, WIDE_V6, parse_duration, parse_network
from debugdash.core.errors import UserInputError

DEFAULT_DURATION = "15m"

#: ``grant(address, what, ttl, wide=...)`` as on the Supervisor; returns the entry.
GrantFunction = Callable[..., Awaitable[Any]]


def _is_wide(text: str) -> bool:
    """True when ``text`` is a valid network that only parses with ``wide``."""
    try:
        parse_network(text)
        return False
    except UserInputError:
        pass
    try:
        network = parse_network(text, wide=True)
    except UserInputError:
        return False
    return network.prefixlen < (WIDE_V4 if network.version == 4 else WIDE_V6)


class GrantScreen(ModalScreen[Any]):
    """Ask for an address, a duration and what to open; dismisses with the new entry or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, grant: GrantFunction, suggested: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._grant = grant
        self._suggested = suggested or ""

    def compose(self) -> ComposeResult:
        with Vertical(id="grant-dialog"):
            yield Static(Text("Grant remote access", "bold"), id="grant-title")
            yield Label("Address or network (your own address, e.g. 203.0.113.7)")
            yield Input(self._suggested, placeholder="203.0.113.7", id="grant-address")
            yield Label("For how long (90s, 15m, 2h, 1h30m; at most 8h)")
            yield Input(DEFAULT_DURATION, id="grant-duration")
            with RadioSet(id="grant-what"):
                yield RadioButton("debugger", value=True, id="what-debugger")
                yield RadioButton("attach", id="what-attach")
                yield RadioButton("both", id="what-both")
            yield Checkbox("Yes, grant this whole network", id="grant-wide")
            yield Static(id="grant-error")
            with Horizontal(id="grant-buttons"):
                yield Button("Grant", variant="primary", id="grant-ok")
                yield Button("Cancel", id="grant-cancel")

    def on_mount(self) -> None:
        self.query_one("#grant-wide", Checkbox).display = False
        self._validate()
        self.query_one("#grant-address", Input).focus()

    @property
    def what(self) -> str:
        pressed = self.query_one("#grant-what", RadioSet).pressed_button
        return pressed.id.removeprefix("what-") if pressed is not None and pressed.id else "debugger"

    def _validate(self) -> bool:
        """Show the first problem under the fields; True when a grant may be tried."""
        address = self.query_one("#grant-address", Input).value
        duration = self.query_one("#grant-duration", Input).value
        wide_box = self.query_one("#grant-wide", Checkbox)
        wide = _is_wide(address)
        wide_box.display = wide
        problem = ""
        try:
            parse_network(address, wide=wide)
            parse_duration(duration)
        except UserInputError as e:
            problem = str(e) if address else "Type the address to let in."
        if not problem and wide and not wide_box.value:
            problem = "This is a whole network: tick the box to confirm."
        self._show_error(problem)
        self.query_one("#grant-ok", Button).disabled = bool(problem)
        return not problem

    def _show_error(self, message: str) -> None:
        self.query_one("#grant-error", Static).update(Text(message, "bold red"))

    @on(Input.Changed)
    @on(Checkbox.Changed)
    def _changed(self) -> None:
        self._validate()

    @on(Input.Submitted)
    @on(Button.Pressed, "#grant-ok")
    def _submit(self) -> None:
        if self._validate():
            self._do_grant()

    @on(Button.Pressed, "#grant-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @work(exclusive=True, group="grant")
    async def _do_grant(self) -> None:
        address = self.query_one("#grant-address", Input).value
        duration = self.query_one("#grant-duration", Input).value
        wide = self.query_one("#grant-wide", Checkbox).value
        try:
            entry = await self._grant(address, what=self.what, ttl=duration, wide=wide)
        except UserInputError as e:
            self._show_error(str(e))
            return
        self.dismiss(entry)
