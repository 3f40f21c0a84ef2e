"""The dashboard: the supervisor's state on one screen, and its switches on single keys.

``DashboardApp(supervisor)`` starts the supervisor when it mounts and stops it
(the whole server tree) before it exits — whether by ``q``, the palette, or the
terminal going away. Every key calls the same Supervisor coroutine that
``debugdash toggle ...`` reaches through the control socket, and what changed
comes back as events: the screen only ever shows what the supervisor reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from pathlib import Path
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.css.query import NoMatches
from textual.driver import Driver
from textual.timer import Timer
from textual.widgets import TabbedContent, TabPane
from textual.worker import Worker

from debugdash.core.errors import UserInputError
from debugdash.protocol.events import Event, Reload, Stats
from debugdash.core.state import SessionState
from debugdash.tui import format as fmt
from debugdash.tui.commands import KEYS, TAB_FOCUS, DashboardCommands
from debugdash.tui.console_keys import ConsoleKeys, clear_errors
from debugdash.tui.handoff import copy_shown, open_in_editor
from debugdash.tui.notices import NEW_ERROR_TIMEOUT, Announcer
from debugdash.tui.redraws import REDRAWS
from debugdash.tui.request_keys import RequestKeys
from debugdash.tui.screens.grant import GrantScreen
from debugdash.tui.screens.help import HelpScreen
from debugdash.tui.terminal import on_hangup
from debugdash.tui.widgets.access import AccessPanel
from debugdash.tui.widgets import debug_session
from debugdash.tui.widgets.attach import AttachPanel
from debugdash.tui.widgets.banner import Banner
from debugdash.tui.widgets.errors import ErrorList
from debugdash.tui.widgets.errors_pane import ErrorsPane
from debugdash.tui.widgets.footer import KeyFooter
from debugdash.tui.widgets.log_pane import LogPane
from debugdash.tui.widgets.reloads import ReloadsPane
from debugdash.tui.widgets.requests_pane import RequestsPane
from debugdash.tui.widgets.status import StatusLine, ToggleBar
from debugdash.tui.widgets.traceback import TracebackView

#: How often changed state is drawn (events can arrive far faster).
RENDER_INTERVAL = 0.1
#: Longest wait for the server tree to stop before killing it outright.
STOP_TIMEOUT = 5.0


class DashboardApp(ConsoleKeys, RequestKeys, App[None]):
    """The debugdash dashboard for one Supervisor."""

    CSS_PATH = "dashboard.tcss"
    TITLE = "debugdash"
    COMMANDS = App.COMMANDS | {DashboardCommands}
    BINDINGS: ClassVar[list[BindingType]] = KEYS

    def __init__(
        self,
        supervisor: Any,
        *,
        start: bool = True,
        wall_clock: Callable[[], float] = time.time,
        driver_class: type[Driver] | None = None,
    ) -> None:
        """``start=False`` shows the supervisor without starting it (for replayed events)."""
        super().__init__(driver_class=driver_class)
        self.sup = supervisor
        self.state = SessionState()
        self._start = start
        self._wall = wall_clock
        self._root = str(getattr(supervisor.settings, "cwd", "") or os.getcwd())
        self._unsubscribe: Callable[[], None] | None = None
        self._undo_signals: Callable[[], None] | None = None
        self._stopped = False
        self._dirty: set[str] = set()
        self._render_timer: Timer | None = None
        self._last_render = float("-inf")
        self._untick: Callable[[], None] | None = None
        self._announcer = Announcer(self.notify, lambda: self.query_one(ErrorsPane).keep_clear_of_toast(NEW_ERROR_TIMEOUT))
        self._starting: Worker[None] | None = None
        self.state.apply(supervisor.toggles)
        if "TEXTUAL_ANIMATIONS" not in os.environ:  # when set, the user's choice
            # A sliding tab underline or scroll is ~20 redraws (and, over SSH, screens
            # of bytes) per key, taken from the loop that also drains the server's output.
            self.animation_level = "none"

    def get_driver_class(self) -> type[Driver]:
        from debugdash.tui.terminal import pick_driver

        return pick_driver(super().get_driver_class())

    # --- layout -------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield ToggleBar(id="toggles")
        yield Banner(id="banner")
        with TabbedContent(initial="errors", id="tabs"):
            with TabPane("Errors", id="errors"):
                yield ErrorsPane(id="errors-pane", root=self._root)
            with TabPane("Log", id="log"):
                yield LogPane(id="log-pane")
            with TabPane("Reloads", id="reloads"):
                yield ReloadsPane(id="reloads-pane", root=self._root)
            with TabPane("Access", id="access"):
                yield AccessPanel(id="access-panel")
            with TabPane("Attach", id="attach"):
                yield AttachPanel(id="attach-panel")
            with TabPane("Requests", id="requests"):
                yield RequestsPane(self.sup.requests.store, self.sup.requests.detail, lambda: self.sup.requests.verify_on_reload, id="requests-pane")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = f"debugdash · {self.sup.settings.app_label}"
        self._unsubscribe = self.sup.subscribe(self._on_events)
        self._on_events(self.sup.held_events())  # published while the dashboard was being built
        self.query_one(LogPane).follow_buffer(self.sup.logs)
        # Rendering is scheduled by whatever makes a part dirty; what moves with
        # time is repainted on the supervisor's ticker, in the same wake-up as the
        # stats sample, and only as often as it moves (``_ticks_needed``). The tick
        # goes through the message queue as a Textual timer's would (ordered with
        # the other messages, waited for by Pilot), which costs no wake-up.
        self._untick = self.sup.ticker.subscribe(self._on_tick)
        if not self.is_headless:
            self._undo_signals = on_hangup(lambda: self.call_later(self.terminal_gone))
        self._dirty.update(("status", "errors", "reloads", "access", "attach", "banner"))
        self._render_dirty()
        self.query_one("#errors-table", ErrorList).focus()
        if self._start:
            self._starting = self.run_worker(self._start_supervisor(), name="start", group="supervisor")

    async def _start_supervisor(self) -> None:
        try:
            await self.sup.start()
        except Exception as e:  # noqa: BLE001  UserInputError names the fix; anything else is shown, not raised
            if self._stopped:
                return
            message = str(e) if isinstance(e, UserInputError) else f"{type(e).__name__}: {e}"
            self.query_one(Banner).say(Text(f"Could not start: {message}", "bold"))
            self.notify(message, title="Could not start", severity="error", timeout=30, markup=False)

    # --- events from the supervisor ------------------------------------------

    def _on_events(self, events: list[Event]) -> None:
        for event in events:
            before = self.state.toggles
            self.state.apply(event)
            self._note(event)
            self._announcer.announce(event, self.state, before)
        self._schedule_render()
        if not all(isinstance(event, Stats) for event in events):
            self.sup.ticker.within(self._ticks_needed())  # e.g. a grant's countdown starts

    def _mark(self, *parts: str) -> None:
        self._dirty.update(parts)
        self._schedule_render()

    def _schedule_render(self) -> None:
        # The first change after a quiet spell is drawn at once (on the next loop
        # turn, with whatever arrived alongside it); after that at most one render
        # per RENDER_INTERVAL, however many events arrive.
        if self._render_timer is None and self._dirty and not self._stopped:
            wait = max(0.001, self._last_render + RENDER_INTERVAL - time.monotonic())  # Textual timers need > 0
            self._render_timer = self.set_timer(wait, self._scheduled_render)

    def _scheduled_render(self) -> None:
        self._render_timer = None
        self._render_dirty()

    def _note(self, event: Event) -> None:
        self._dirty.add("status")
        if isinstance(event, Reload):
            self.query_one(ReloadsPane).reloaded(event)
        # Toggles (and anything else, e.g. the debug session): the attach panel, the banner, the reloads hint.
        self._dirty.update(REDRAWS.get(type(event), ("attach", "reloads", "banner")))

    def _render_dirty(self) -> None:
        dirty, self._dirty = self._dirty, set()
        if not dirty or self._stopped:
            return
        self._last_render = time.monotonic()
        try:
            self._render(dirty)
        except NoMatches:  # the screen is already gone: the app is closing
            pass

    def _render(self, dirty: set[str]) -> None:
        if "status" in dirty:
            self._render_status()
        if "errors" in dirty:
            self.query_one(ErrorsPane).show(self.state)
        if "reloads" in dirty:
            self.query_one(ReloadsPane).show(self.state)
        if "access" in dirty:
            self._render_access()
        if "attach" in dirty:
            self._render_attach()
        if "banner" in dirty:
            self.query_one(Banner).show(self.state)
        if "requests" in dirty:
            self.query_one(RequestsPane).changed()

    def on_resize(self) -> None:
        self._mark("errors")  # the error messages are cut to the table's width

    def _on_tick(self) -> int:
        self.call_later(self._tick)
        return self._ticks_needed()

    def _ticks_needed(self) -> int:
        """Seconds until something shown moves with time: a countdown, "attached for"
        or a coding agent's "12s ago" every second, the uptime at its next minute."""
        if self.sup.access_entries() or self.state.attach.client is not None or self.state.coding_agents:
            return 1
        uptime = self.state.uptime(self._wall())
        if uptime is None:  # not serving: what comes next arrives as events
            return 60
        return max(1, math.ceil(60 - uptime % 60))

    def _tick(self) -> None:
        # Uptime, countdowns and "attached for" move with time, not with events;
        # an idle dashboard repaints only what is counting.
        self._dirty.add("status")
        if self.sup.access_entries():
            self._dirty.add("access")
        if self.state.attach.client is not None:
            self._dirty.add("attach")
        self._render_dirty()

    def _render_status(self) -> None:
        settings = self.sup.settings
        exposed = settings.host if getattr(settings, "binds_network", False) else None
        self.query_one(StatusLine).show(
            settings.app_label, self.state, self._wall(), exposed=exposed, url=getattr(settings, "url", None)
        )
        self.query_one(ToggleBar).show(self.state, len(self.sup.access_entries()))

    def _render_access(self) -> None:
        self.query_one(AccessPanel).show(self.sup.access_entries(), self.sup.clock(), self.sup.state.inbox.rows())

    def _render_attach(self) -> None:
        enabled = self.state.toggles.attach if self.state.toggles else False
        help = self.sup.attach_help() if enabled else None
        self.query_one(AttachPanel).show(enabled, self.state.attach, help, self._wall())

    # --- actions ------------------------------------------------------------

    def _control(self, coroutine: Coroutine[Any, Any, Any], done: str | None = None) -> None:
        """Run a supervisor call without blocking the screen; its errors become notifications."""

        async def run() -> None:
            try:
                await coroutine
            except UserInputError as e:
                self.notify(str(e), severity="error", timeout=10, markup=False)
            except Exception as e:  # noqa: BLE001  a failed switch must not take the dashboard (and server) down
                self.log.error(f"control action failed: {e!r}")
                self.notify(f"That did not work: {e!r}", severity="error", timeout=10, markup=False)
            else:
                if done:
                    self.notify(done, markup=False)
            self._mark("status", "access", "attach")

        self.run_worker(run(), group="control")

    def action_restart(self) -> None:
        def restart() -> None:
            self.notify("Restarting the server…")
            self._control(self.sup.restart())

        debug_session.ask_before_restart(self.push_screen, self.state.attach, restart)

    def action_toggle_debugger(self) -> None:
        self._control(self.sup.set_debugger(not self.sup.toggles.debugger))

    def action_toggle_reloader(self) -> None:
        self._control(self.sup.set_reloader(not self.sup.toggles.reloader))

    def action_toggle_debug(self) -> None:
        self._control(self.sup.set_debug(not self.sup.toggles.debug))

    def action_toggle_attach(self) -> None:
        self._control(self.sup.set_attach(not self.sup.toggles.attach))

    def action_grant(self) -> None:
        def granted(entry: Any) -> None:
            if entry is not None:  # announced by its event, like a grant from another terminal
                self._mark("access", "status")
                self.action_show_tab("access")

        self.push_screen(GrantScreen(self.sup.grant, self.sup.suggested_grant), granted)

    def action_revoke(self) -> None:
        if self.query_one(TabbedContent).active != "access":
            # Never revoke an entry the user cannot see: show the list first.
            self.action_show_tab("access")
            if self.sup.access_entries():
                self.notify("Highlight an entry and press x again to revoke it.")
            return
        network = self.query_one(AccessPanel).selected_network
        if network is None:
            self.notify("No remote access to revoke.", severity="warning")
            return
        self._control(self.sup.revoke(network))  # announced by its event

    def action_new_pin(self) -> None:
        pin = self.sup.rotate_pin()
        self.notify(f"PIN {pin}: every browser must unlock the debugger again.", title="New debugger PIN", markup=False)

    def action_clear_error(self) -> None:
        key = self.query_one(ErrorsPane).highlighted_key()
        if self.query_one(TabbedContent).active != "errors" or key is None:
            self.action_show_tab("errors")
            self.notify("No error group highlighted to clear." if key is None else "Highlight a group and press Delete again.")
            return
        clear_errors(self.state, self.sup.console, key)
        self.notify(f"Cleared {key[0]} at {fmt.short_path(key[1], self._root)}:{key[2]}.", markup=False)
        self._mark("errors")

    def action_clear_errors(self) -> None:
        count = len(self.state.error_groups)
        clear_errors(self.state, self.sup.console)
        self.notify(f"Cleared {count} error group{'s' if count != 1 else ''}.")
        self._mark("errors")

    def action_save_log(self) -> None:
        self.query_one(LogPane).save_and_say(Path(self._root), self._wall())

    def action_revoke_all(self) -> None:
        self._control(self.sup.revoke_all())  # each revocation is announced by its event

    def action_edit(self) -> None:
        open_in_editor(self, self.query_one(TracebackView).selected_frame)

    def action_copy(self) -> None:
        tab = self.query_one(TabbedContent).active
        copy_shown(self, tab, self.sup.attach_help() if tab == "attach" else None, self.query_one(TracebackView))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        candidates = [self.query_one(selector) for selector in TAB_FOCUS[tab]]
        next((widget for widget in candidates if widget.display), candidates[0]).focus()

    async def action_quit(self) -> None:
        await self.shutdown()
        self.exit()

    async def terminal_gone(self) -> None:
        """The terminal closed under us (EOF, SIGHUP, SIGTERM): stop everything and leave."""
        await self.action_quit()

    async def shutdown(self) -> None:
        """Stop the supervisor (and so the server tree); idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._untick is not None:
            self._untick()
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._undo_signals is not None:
            self._undo_signals()
        if self._starting is not None and not self._starting.is_finished:
            # Quitting (or losing the terminal) while the server launches: let the
            # launch finish so that stop() sees everything it has to end.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._starting.wait(), timeout=STOP_TIMEOUT)
        try:
            await asyncio.wait_for(self.sup.stop(), timeout=STOP_TIMEOUT)
        except (TimeoutError, OSError):
            self.sup.kill_now()

    async def on_unmount(self) -> None:
        # However the app ends (Ctrl+Q, an exception), the server must not outlive it.
        await self.shutdown()

