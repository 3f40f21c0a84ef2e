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
    # These lines are one row high, or two when they wrap. Only a change of height
    # needs the screen laid out again; the uptime ticking every second does not.
    width = widget.content_size.width
    same_height = shown is not None and width > 0 and (shown.cell_len <= width) == (text.cell_len <= width)
    widget.update(text, layout=not same_height)


class StatusLine(Static):
    """App name, URL, phase, pid, uptime and the server's CPU, memory and threads."""

    def show(
        self, label: str, state: SessionState, now: float, *, exposed: str | None = None, url: str | None = None
    ) -> None:
        """``exposed``: the bound address, when other machines can reach the server;
        ``url``: where it will listen, shown dimmed until it is ready."""
        line = Text(no_wrap=False, overflow="fold")
        line.append(display_text(label, 40), "bold")
        line.append("  ")
        line.append(state.url or url or "—", "underline" if state.url else "dim")
        line.append("  ")
        line.append(f" {state.phase} ", _PHASE_STYLE[state.phase])
        if state.load_error is not None:
            line.append(" load error ", "bold white on dark_orange")
        if exposed:
            line.append(f" network: {display_text(exposed, 60)} ", "bold black on yellow")
        if state.pid:
            line.append(f"  pid {state.pid}")
        uptime = state.uptime(now)
        if uptime is not None:
            line.append(f"  up {fmt.duration(uptime)}")
        stats = state.stats
        if stats is not None:
            line.append(f"  cpu {stats.cpu_percent:.1f}%  {fmt.size(stats.rss)}  {stats.threads} thr")
        _update_if_changed(self, line)


class ToggleBar(Static):
    """Debug mode, the debugger (and PIN), the reloader (and backend), external attach."""

    def show(self, state: SessionState, access_count: int) -> None:
        toggles = state.toggles
        sep = Text("  ")
        parts = [_on_off("debug", toggles.debug if toggles else None)]
        debugger = _on_off("debugger", toggles.debugger if toggles else None)
        if toggles and toggles.debugger and state.pin:
            debugger.append(f"  PIN {state.pin}", "yellow")
        parts.append(debugger)
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
        _update_if_changed(self, sep.join(parts))
