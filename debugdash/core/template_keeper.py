"""Keeping a usable template: build one after the worker is up, build the next in
the background when it goes stale, retire the old one once the new one is ready,
and leave out (naming it once) a package that made a template unsafe to fork.

Used only when forking is possible and wanted: Linux, the reloader on, and not
in attach mode (the debug adapter must see a fresh worker; the warm spare serves
there).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from debugdash.core.server_process import OutputSink, ServerProcess
from debugdash.core.template import BUILD_TIMEOUT, Template
from debugdash.protocol.env import TEMPLATE_EXCLUDE_ENV, TEMPLATE_FD_ENV
from debugdash.protocol.events import Event, Notice
from debugdash.protocol.session_events import TemplateReady

#: Set to 0 to never fork workers from a template (the warm spare serves every reload).
TEMPLATE_SWITCH_ENV = "DEBUGDASH_TEMPLATE"
#: A template that keeps finding a package to leave out gives up after this many tries.
MAX_BUILDS = 12

#: Spawns a template process with these extra variables and passed file descriptors.
SpawnTemplate = Callable[[dict[str, str], tuple[int, ...]], Awaitable[ServerProcess]]


def fork_supported() -> bool:
    return hasattr(os, "fork") and sys.platform.startswith("linux") and hasattr(socket, "send_fds")


class TemplateKeeper:
    def __init__(
        self,
        *,
        spawn: SpawnTemplate,
        key: Callable[[], tuple[Any, ...]],
        wanted: Callable[[], bool],
        serving: Callable[[], bool],
        publish: Callable[[Event], None],
    ) -> None:
        self._spawn = spawn
        self._key = key
        self._wanted = wanted
        self._serving = serving
        self._publish = publish
        self.current: Template | None = None
        self._retired: list[Template] = []
        self._excluded: dict[str, str] = {}
        self._building: asyncio.Task[None] | None = None
        self._pending: Template | None = None
        self.stopping = False

    @property
    def usable(self) -> Template | None:
        t = self.current
        return t if t is not None and t.usable and t.key == self._key() and self._wanted() else None

    def wanted(self) -> bool:
        """Whether to build one: never for a server that crashed (nothing idles while the app is broken)."""
        return fork_supported() and self._wanted() and self._serving() and not self.stopping

    async def fork(self, env: dict[str, str], cwd: str, fds: dict[str, int], output: OutputSink) -> ServerProcess | None:
        template = self.usable
        if template is None:
            return None
        return await template.fork(env, cwd, fds, output)

    def ensure(self) -> asyncio.Task[None] | None:
        """Build a template in the background unless a fitting one exists or is being built."""
        if not self.wanted() or self.usable is not None:
            return None
        if self._building is None or self._building.done():
            self._building = asyncio.ensure_future(self._build())
        return self._building

    async def _build(self) -> None:
        for _ in range(MAX_BUILDS):
            if not self.wanted():
                return
            key = self._key()
            ours, theirs = socket.socketpair()
            try:
                extra = {TEMPLATE_FD_ENV: str(theirs.fileno()), TEMPLATE_EXCLUDE_ENV: ",".join(sorted(self._excluded))}
                server = await self._spawn(extra, (theirs.fileno(),))
            except OSError:
                ours.close()
                return
            finally:
                theirs.close()
            template = Template(server, ours, key, on_stale=lambda _reason: self._stale())
            self._pending = template
            await template.open()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(template.ready.wait(), BUILD_TIMEOUT)
            if template.excluded is not None:
                package, reason = template.excluded
                self._excluded[package] = reason
                self._publish(Notice(level="info", message=f"template: {package} is not preloaded ({reason}); it is imported by each worker"))
                self._pending = None
                await template.end()
                continue
            if not template.usable or not self.wanted():
                self._pending = None
                await template.end()
                return
            self._pending = None
            old, self.current = self.current, template
            self._publish(TemplateReady(pid=template.pid, modules=template.modules, rss=template.rss, excluded=sorted(self._excluded)))
            if old is not None:
                await self._retire(old)
            return

    def _stale(self) -> None:
        if not self.stopping:
            self.ensure()

    async def _retire(self, template: Template) -> None:
        self._retired = [t for t in self._retired if not t.ended.is_set()]
        if template.workers:
            # Its worker still serves: the template ends with it.
            self._retired.append(template)
            await template.retire()
        else:
            await template.end()

    async def stop(self) -> None:
        self.stopping = True
        await self.discard()

    async def discard(self) -> None:
        """End every template now (after a crash, as the spare is: nothing idles while the app is broken)."""
        if self._building is not None:
            self._building.cancel()
        for template in self._all():
            await template.end()
        self.current, self._retired, self._pending = None, [], None

    def kill_now(self) -> None:
        self.stopping = True
        for template in self._all():
            template.kill_now()

    def _all(self) -> list[Template]:
        return [t for t in (*self._retired, self.current, self._pending) if t is not None]
