"""The session's switches — debug mode, the debugger gate, the reloader, attach —
and the rules between them: which change is live (a command to the agent) and
which needs a restart, and what attach turns off and later restores.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable

from debugdash.core.attach import AttachSession
from debugdash.core.settings import Settings
from debugdash.protocol import commands as wire
from debugdash.protocol.control import AttachInfo
from debugdash.protocol.events import Event, Toggles


class Switches:
    def __init__(
        self,
        settings: Settings,
        toggles: Toggles,
        *,
        publish: Callable[[Event], None],
        send: Callable[..., None],
        restart: Callable[[str], Awaitable[None]],
        server_pids: Callable[[], list[int]],
        allowed: Callable[[str], bool],
        granted: Callable[[str], bool],
    ) -> None:
        self.settings = settings
        self.toggles = toggles
        self._publish = publish
        self._send = send
        self._restart = restart
        self._server_pids = server_pids
        self._allowed = allowed
        self._granted = granted
        self.attach: AttachSession | None = None
        self._before_attach: tuple[bool, bool] | None = None
        #: The debugger toggle when debug mode was turned off, to restore with it.
        self._debugger_before_debug_off: bool | None = None

    def configure(self, serving: bool, grants: list[wire.WireGrant], trusted_hosts: list[str]) -> wire.Configure:
        """The whole state for an agent that just said hello (``serving``: a worker, not a reloader parent)."""
        return wire.Configure(
            debugger=self.toggles.debugger,
            grants=grants,
            trusted_hosts=trusted_hosts,
            attach_port=self._internal_port() if (self.toggles.attach and serving) else None,
        )

    def _set(self, **changes: bool) -> None:
        self.toggles = dataclasses.replace(self.toggles, **changes, time=time.time())
        self._publish(self.toggles)

    async def set_debugger(self, on: bool) -> None:
        if on == self.toggles.debugger:
            return
        self._set(debugger=on)
        self._send(wire.SetGate(debugger=on))

    async def set_reloader(self, on: bool) -> None:
        if on == self.toggles.reloader:
            return
        self._set(reloader=on)
        await self._restart("toggle")

    async def set_debug(self, on: bool) -> None:
        """As with `flask run --debug`/`--no-debug`: a server out of debug mode has
        no console; back in debug mode, the debugger is as it was before (still
        off while attach keeps it off)."""
        if on == self.toggles.debug:
            return
        if on:
            debugger, self._debugger_before_debug_off = self._debugger_before_debug_off, None
            if debugger is None:
                debugger = True
            if self.attach is not None and not self.settings.attach_keep_debugger:
                debugger = False
        else:
            self._debugger_before_debug_off = self.toggles.debugger
            debugger = False
        if debugger != self.toggles.debugger:
            self._send(wire.SetGate(debugger=debugger))
        self._set(debug=on, debugger=debugger)
        await self._restart("toggle")

    async def set_attach(self, on: bool) -> None:
        """As the Flask docs advise for external debuggers, attach also turns the
        built-in debugger off, and turning it off restores it. The reloader stays
        on: the attach hub keeps the IDE attached across reloads and holds a
        reload while the debuggee is stopped (``--attach-keep-reloader`` is moot)."""
        if on == self.toggles.attach:
            return
        if on:
            await self.open_attach()
            # debugpy belongs in a fresh worker: started with -Xfrozen_modules=off, never
            # forked from the preloaded template, and debugpy listens once per process.
            await self._restart("toggle")
            return
        session, self.attach = self.attach, None
        self._set(attach=False)
        self._send(wire.SetAttach(port=None), roles=("worker", "server"))
        if session is not None:
            await session.close()
        debugger, reloader = self._before_attach or (self.toggles.debugger, self.toggles.reloader)
        self._before_attach = None
        await self.set_debugger(debugger)
        await self.set_reloader(reloader)

    async def open_attach(self) -> None:
        """Open the attach port (UserInputError when taken) and switch to external-debugger mode."""
        session = AttachSession(
            self.settings, server_pids=self._server_pids, allowed=self._allowed, granted=self._granted, publish=self._publish,
            # The new worker waits for this before it serves: the IDE's breakpoints are in place.
            on_configured=lambda: self._send(wire.AttachConfigured(), roles=("worker", "server")),
        )
        await session.open()
        self.attach = session
        self._before_attach = (self.toggles.debugger, self.toggles.reloader)
        changes = {"attach": True}
        if not self.settings.attach_keep_debugger:
            changes["debugger"] = False
        if self.toggles.debugger and not changes.get("debugger", True):
            self._send(wire.SetGate(debugger=False))
        self._set(**changes)

    async def close_attach(self) -> None:
        """Free the attach port when the session ends (the switch is left as it was)."""
        session, self.attach = self.attach, None
        if session is not None:
            try:
                await session.close()
            except Exception:  # the session is ending: nothing to report to
                pass

    def close_unallowed(self) -> None:
        if self.attach is not None:
            self.attach.close_unallowed()

    def attach_help(self) -> AttachInfo | None:
        return self.attach.help() if self.attach is not None else None

    def _internal_port(self) -> int | None:
        return self.attach.internal_port if self.attach is not None else None
