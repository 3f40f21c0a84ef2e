"""The server's life: launch (a warm spare or a fresh process), watch it exit,
start the next worker on a reload, end its tree on a restart, and after a crash
wait for a file change instead of restarting in a loop.

It publishes ``Started``, ``Exited`` and ``LaunchFailed``; what it needs from the
session (the command, the environment, the switches) is handed in as callables.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import psutil

from debugdash.core import prestart_process, process, server_process
from debugdash.core.filewatch import FileWatcher
from debugdash.core.prestart import Prestart
from debugdash.core.reloader_parent import ReloaderParent
from debugdash.core.server_process import ServerProcess
from debugdash.core.settings import Settings
from debugdash.core.stats import TreeSampler
from debugdash.core.template_keeper import TemplateKeeper
from debugdash.protocol.env import GUARD_FD_ENV, SPARE_ENV
from debugdash.protocol.events import Event, Exited, LaunchFailed, Notice, Started


class Lifecycle:
    def __init__(
        self,
        settings: Settings,
        *,
        command: Callable[[], list[str]],
        spare_key: Callable[[], tuple[Any, ...]],
        environment: Callable[[], dict[str, str]],
        owns_socket: Callable[[], bool],
        guard_fd: Callable[[], int | None],
        output: server_process.OutputSink,
        last_lines: Callable[[], list[str]],
        publish: Callable[[Event], None],
        crashed: Callable[[], bool],
        template_wanted: Callable[[], bool] = lambda: False,
    ) -> None:
        self.settings = settings
        self._command = command
        self._key = spare_key
        self._environment = environment
        self._owns_socket = owns_socket
        self._guard_fd = guard_fd
        self._output = output
        self._last_lines = last_lines
        self._publish = publish
        self._crashed = crashed
        self.reloader = ReloaderParent(
            settings.host, settings.port, spawn_spare=lambda: self._spawn(spare=True), spare_key=self._key
        )
        self.templates = TemplateKeeper(
            spawn=lambda extra, fds: self._spawn(extra=extra, extra_fds=fds, with_listener=False),
            key=self._key,
            wanted=lambda: template_wanted() and self._owns_socket(),
            serving=lambda: self.running is not None,
            publish=publish,
        )
        self.server: ServerProcess | None = None
        self.sampler: TreeSampler | None = None
        self.done: asyncio.Event | None = None
        self.lock = asyncio.Lock()
        self.stopping = False
        self.restarting = False
        self._expected_exit = False
        self._launched_at = 0.0
        self._crash_watch: asyncio.Task[Any] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Servers we started and asyncio still waits for; other children of ours are adopted orphans.
        self.own_children: set[int] = set()
        self.spawning = 0
        #: Called at each launch and each exit: the session forgets what the last server said.
        self.on_launch: Callable[[], None] = lambda: None
        self.on_exit: Callable[[], None] = lambda: None
        #: The server's interpreter started before we were imported (``core.prestart``), for the first launch.
        self._prestart: Prestart | None = None

    def use_prestart(self, early: Prestart | None) -> None:
        """Serve the first launch from ``early`` when it fits; ours to end either way."""
        if early is not None:
            self._prestart = early
            # Our child already: never reaped as an adopted orphan.
            self.own_children.add(early.pid)

    def _discard_prestart(self) -> None:
        early, self._prestart = self._prestart, None
        if early is not None:
            early.discard()
            self.own_children.discard(early.pid)

    @property
    def running(self) -> ServerProcess | None:
        server = self.server
        return server if server is not None and server.running else None

    def running_sampler(self) -> TreeSampler | None:
        """The sampler of the running server's tree; None while none runs."""
        return self.sampler if self.running is not None else None

    def server_pids(self) -> list[int]:
        """The running server and its descendants: the processes whose debugger may reach the attach hub."""
        server = self.running
        return process.tree_pids(server.pid) if server is not None else []

    def spawn_task(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def launch(self, reason: str) -> None:
        if self.stopping:
            return  # stop() came first (e.g. quit while starting): launch nothing
        self._expected_exit = False
        self._launched_at = time.time()
        self.on_launch()
        if self._crash_watch is not None:
            self._crash_watch.cancel()
            self._crash_watch = None
        try:
            if self._owns_socket():
                self.reloader.open_listener()
            else:
                self.reloader.close_listener()
            server, via = None, "fresh"
            if reason == "reload":
                server, via = await self._fork(), "template"
                if server is None:
                    server, via = await self.reloader.activate_spare(), "spare"
            if server is None:
                # A start or restart is a new server: nothing warmed for the old one stays.
                await self.reloader.discard_spare()
                await self.templates.discard()
                server, via = await self._spawn(), "fresh"
        except OSError as e:
            message = f"could not start the server: {e.strerror or e}"
            self._publish(LaunchFailed(message=message, reason=reason))
            self._publish(Notice(level="error", message=message))
            self._crash_watch = self.spawn_task(self._restart_on_change())
            return
        self.server = server
        self.done = asyncio.Event()
        self.sampler = TreeSampler(server.pid)
        self._publish(Started(pid=server.pid, command=self._command(), reason=reason, via=via))
        self.spawn_task(self._watch(server, self.done))

    async def start_spare(self) -> None:
        if not self.stopping and self._owns_socket():
            # The template first: it is what serves reloads; the spare is for when it cannot.
            building = self.templates.ensure()
            if building is not None:
                await asyncio.shield(building)
                if self.stopping or self.running is None:
                    return  # the server ended while the template was built: no spare for it
            await self.reloader.start_spare()

    async def restart(self, reason: str) -> None:
        async with self.lock:
            if self.stopping:
                return
            self.restarting = True
            try:
                await self.terminate()
            finally:
                self.restarting = False
            await self.launch(reason)

    async def stop(self) -> None:
        self._discard_prestart()
        if self._crash_watch is not None:
            self._crash_watch.cancel()
        await self.terminate()
        await self.reloader.discard_spare()
        await self.templates.stop()
        self.reloader.close_listener()
        for task in list(self._tasks):
            task.cancel()

    async def terminate(self) -> None:
        server, done = self.server, self.done
        if server is None or done is None or done.is_set():
            return
        self._expected_exit = True
        await server_process.terminate(server.pid, self._known(), done)

    def kill_now(self) -> None:
        self._discard_prestart()
        if self.server is not None and self.server.running:
            process.kill_tree(self.server.pid, self._known(), grace=0.5)
        self.reloader.kill_now()
        self.templates.kill_now()

    def _known(self) -> list[psutil.Process] | None:
        return self.sampler.known() if self.sampler else None

    async def _fork(self) -> ServerProcess | None:
        """A worker forked from the template, or None when there is no fitting one."""
        env = self._environment()
        env["WERKZEUG_RUN_MAIN"] = "true"
        fds = {"WERKZEUG_SERVER_FD": self.reloader.open_listener().fileno()}
        guard = self._guard_fd()
        if guard is not None:
            fds[GUARD_FD_ENV] = guard
        env.pop(GUARD_FD_ENV, None)
        return await self.templates.fork(env, str(self.settings.cwd), fds, self._output)

    async def _spawn(
        self, *, spare: bool = False, extra: dict[str, str] | None = None,
        extra_fds: tuple[int, ...] = (), with_listener: bool = True,
    ) -> ServerProcess:
        env = self._environment()
        env.update(extra or {})
        pass_fds: tuple[int, ...] = extra_fds
        if not with_listener:
            env["WERKZEUG_RUN_MAIN"] = "true"
        elif self._owns_socket():
            listener = self.reloader.open_listener()
            env["WERKZEUG_RUN_MAIN"] = "true"
            env["WERKZEUG_SERVER_FD"] = str(listener.fileno())
            pass_fds = (*pass_fds, listener.fileno())
        if spare:
            env[SPARE_ENV] = "1"
        guard = self._guard_fd()
        if guard is not None:
            pass_fds = (*pass_fds, guard)
        self.spawning += 1
        try:
            server = await self._from_prestart(env, pass_fds) if not spare and with_listener else None
            if server is None:
                server = await server_process.spawn(
                    self._command(), env, cwd=str(self.settings.cwd), pass_fds=pass_fds,
                    with_stdin=spare, output=self._output, key=self._key(),
                )
            self.own_children.add(server.pid)
        finally:
            self.spawning -= 1
        return server

    async def _from_prestart(self, env: dict[str, str], pass_fds: tuple[int, ...]) -> ServerProcess | None:
        """The early interpreter as this server, if there is one and it fits."""
        early, self._prestart = self._prestart, None
        if early is None:
            return None
        server = await prestart_process.adopt(
            early, self._command(), env, cwd=str(self.settings.cwd), pass_fds=pass_fds, output=self._output, key=self._key()
        )
        if server is None:
            self.own_children.discard(early.pid)
        return server

    async def _watch(self, server: ServerProcess, done: asyncio.Event) -> None:
        returncode = await server_process.exit_code(server)
        expected = self._expected_exit or self.stopping
        self.on_exit()
        if returncode == server_process.RELOAD_EXIT_CODE and not expected and self._owns_socket():
            # The worker's reloader saw a change: the next worker starts at once.
            done.set()
            async with self.lock:
                if not self.stopping and self.server is server:
                    await self.launch("reload")
            return
        exited = Exited(
            pid=server.pid,
            returncode=returncode,
            last_lines=self._last_lines(),
            expected=expected,
            restarting=self.restarting and not self.stopping,
        )
        done.set()
        self._publish(exited)
        if not expected:
            # Known but not running: end whatever it left behind, close the port
            # (clients get "refused", not a hang), then wait for a fix.
            await asyncio.to_thread(process.kill_tree, server.pid, self._known(), 0.5)
            await self.reloader.discard_spare()
            await self.templates.discard()
            # What the crashed server started was re-parented to us (as subreaper).
            await asyncio.to_thread(process.end_adopted, set(self.own_children))
            self.reloader.close_listener()
            self._crash_watch = self.spawn_task(self._restart_on_change())

    async def _restart_on_change(self) -> None:
        """After a crash: restart on the next change to the app's files, never in a loop."""
        extra = [self.settings.script] if self.settings.script is not None else []
        await FileWatcher(self.settings.cwd, extra=extra).changed(since=self._launched_at)
        async with self.lock:
            if self.stopping or not self._crashed():
                return
            self._crash_watch = None
            await self.launch("file-change")

    def reap_adopted(self) -> None:
        # Never while a spawn is under way, when a new server is not yet known as ours.
        if not self.spawning:
            self.own_children = process.reap_adopted(self.own_children)

