"""The key bar at the bottom: Textual's Footer, rebuilt only when its keys change."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

#: Below this width the footer is compact and leaves out these keys (help and the
#: palette still list them), so that ``? Help`` and ``q Quit`` always show.
NARROW = 100
SECONDARY = frozenset({"x", "e", "c"})


class KeyFooter(Footer):
    """Shows the same keys as ``Footer``, but rebuilds them only when they differ.

    Textual's Footer removes and re-mounts every key widget on each bindings
    notice, and a single tab switch sends several (focus, tab, pane), each
    queueing its own rebuild. Under an output flood those rebuilds were most of
    a key press's cost, and they queued up faster than the screen drained them.
    Here at most one rebuild is pending, and none happens when the keys shown
    (key, label, enabled, tooltip) are the same as before.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rebuild_pending = False
        self._shown_keys: tuple[tuple[Any, ...], ...] | None = None

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, FooterKey) and widget.key in SECONDARY:
                widget.add_class("-secondary")
            yield widget

    def on_resize(self, event: events.Resize) -> None:
        narrow = event.size.width < NARROW
        self.compact = narrow
        self.set_class(narrow, "-narrow")

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._rebuild_pending:
            self._rebuild_pending = True
            self.call_after_refresh(self._rebuild_if_changed)

    async def _rebuild_if_changed(self) -> None:
        self._rebuild_pending = False
        if not self.is_attached:
            return
        keys = self._keys()
        if keys == self._shown_keys:
            return
        self._shown_keys = keys
        await self.recompose()

    def _keys(self) -> tuple[tuple[Any, ...], ...]:
        # Everything Footer.compose reads from a binding (the palette key included).
        return tuple(
            (binding.key, binding.action, binding.description, binding.key_display, binding.show, binding.group, enabled, tooltip)
            for _namespace, binding, enabled, tooltip in self.screen.active_bindings.values()
            if binding.show or binding.key == self.app.COMMAND_PALETTE_BINDING
        )
