"""The two lines at the top: server state, and the switches."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from debugdash.core.state import SessionState
from debugdash.protocol.text import display_text
from debugdash.tui import format as fmt

_PHASE_STYLE = {
    "starting": "bold yellow",
    "running": "bold green",
    "reloading": "bold cyan",
    "crashed": "bold white on red",
    "stopped": "bold",
}


def _on_off(name: str, on: bool | None) -> Text:
    if on is None:
        return Text.assemble((name, "bold"), " ", ("?", "dim"))
    mark = ("● on", "bold green") if on else ("○ off", "dim")
    return Text.assemble((name, "bold"), " ", mark)


def _update_if_changed(widget: Static, text: Text) -> None:
    # Repainting costs far more than comparing: an idle dashboard mostly shows the same.
    shown = getattr(widget, "_shown", None)
    if text == shown:
        return
    widget._shown = text  # type: ignore[attr-defined]
    # These lines are one row high, or two when broken. Only a change of height
    # needs the screen laid out again; the uptime ticking every second does not.
    same_height = shown is not None and shown.plain.count("\n") == text.plain.count("\n")
    widget.update(text, layout=not same_height)


def _fit(parts: list[Text], width: int) -> Text:
    """``parts`` joined by two spaces, a line broken only between parts (never inside a value)."""
    line = Text(no_wrap=True, overflow="ellipsis")
    column = 0
    for part in parts:
        if column and width > 0 and column + 2 + part.cell_len > width:
            line.append("\n")
            column = 0
        elif column:
            line.append("  ")
            column += 2
        line.append_text(part)
        column += part.cell_len
    return line


class _FittedLine(Static):
    """A Static whose parts are laid out again when its width changes."""

    _parts: list[Text] | None = None
    #: What the last ``show`` was built from.
    _key: object = None

    def _show_parts(self, parts: list[Text]) -> None:
        self._parts = parts
        _update_if_changed(self, _fit(parts, self.content_size.width))

    def on_resize(self) -> None:
        if self._parts is not None:
            _update_if_changed(self, _fit(self._parts, self.content_size.width))


def _debugger(state: SessionState) -> Text:
    """What the server really serves: the debugger and its PIN, or off and why."""
    toggles = state.toggles
    if toggles is None:
        return _on_off("debugger", None)
    # Out of debug mode Flask mounts no debugger, whatever its own switch says.
    served = toggles.debugger and toggles.debug
    text = _on_off("debugger", served)
    if served and state.pin:
        text.append(f"  PIN {state.pin}", "yellow")
    elif not toggles.debug:
        text.append(" (debug mode off)", "dim")
    elif toggles.attach:
        text.append(" (external attach on)", "dim")
    return text


class StatusLine(_FittedLine):
    """App name, URL, phase, pid, uptime and the server's CPU, memory and threads."""

    def show(
        self, label: str, state: SessionState, now: float, *, exposed: str | None = None, url: str | None = None
    ) -> None:
        """``exposed``: the bound address, when other machines can reach the server;
        ``url``: where it will listen, shown dimmed until it is ready."""
        uptime = state.uptime(now)
        stats = state.stats
        # Called every second: when nothing it shows changed, nothing is built.
        key = (
            label, state.url, url, state.phase, state.load_error is not None, exposed, state.pid,
            None if uptime is None else fmt.uptime(uptime),
            None if stats is None else (f"{stats.cpu_percent:.1f}", fmt.size(stats.rss), stats.threads),
            _coding_agent_key(state, now), self.content_size.width,
        )
        if key == self._key:
            return
        self._key = key
        parts = [
            Text(display_text(label, 40), "bold"),
            Text(state.url or url or "—", "underline" if state.url else "dim"),
            Text(f" {state.phase} ", _PHASE_STYLE[state.phase]),
        ]
        if state.load_error is not None:
            parts.append(Text(" load error ", "bold white on dark_orange"))
        if exposed:
            parts.append(Text(f" network: {display_text(exposed, 60)} ", "bold black on yellow"))
        if state.pid:
            parts.append(Text(f"pid {state.pid}"))
        if uptime is not None:
            parts.append(Text(f"up {fmt.uptime(uptime)}"))
        if stats is not None:
            parts.append(Text(f"cpu {stats.cpu_percent:.1f}%"))
            parts.append(Text(fmt.size(stats.rss)))
            parts.append(Text(f"{stats.threads} thr"))
        agent = coding_agent(state, now)
        if agent is not None:
            parts.append(agent)
        self._show_parts(parts)


def _coding_agent_key(state: SessionState, now: float) -> object:
    if not state.coding_agents:
        return None
    return coding_agent(state, now)


def coding_agent(state: SessionState, now: float) -> Text | None:
    """``agent claude-code: error ✓ 12s ago`` while a coding agent is connected through `debugdash mcp`."""
    if not state.coding_agents:
        return None
    names = sorted(set(state.coding_agents.values()))
    text = Text.assemble(("agent", "bold magenta"), " ", display_text(", ".join(names), 40))
    call = state.coding_agent_call
    if call is not None and call.pid in state.coding_agents:
        mark = ("✓", "green") if call.ok else ("✗ refused" if call.summary == "refused" else "✗", "red")
        text.append(f": {display_text(call.tool, 30)} ")
        text.append(*mark)
        text.append(f" {fmt.duration(max(0.0, now - call.time))} ago", "dim")
    return text


class ToggleBar(_FittedLine):
    """Debug mode, the debugger (and PIN), the reloader (and backend), external attach."""

    def show(self, state: SessionState, access_count: int) -> None:
        toggles = state.toggles
        attach_shown = (state.attach.port, state.attach.client)
        key = (toggles, state.pin, state.reloader_type, attach_shown, access_count, self.content_size.width)
        if key == self._key:
            return
        self._key = key
        parts = [_on_off("debug", toggles.debug if toggles else None)]
        parts.append(_debugger(state))
        reloader = _on_off("reloader", toggles.reloader if toggles else None)
        if toggles and toggles.reloader and state.reloader_type:
            reloader.append(f" ({state.reloader_type.removeprefix('debugdash-')})", "dim")
        parts.append(reloader)
        attach = _on_off("attach", toggles.attach if toggles else None)
        if toggles and toggles.attach and state.attach.port:
            attach.append(f" :{state.attach.port}")
            if state.attach.client:
                attach.append(f" ← {state.attach.client}", "bold magenta")
        parts.append(attach)
        if access_count:
            parts.append(Text(f"remote access: {access_count}", "bold yellow"))
        self._show_parts(parts)
