"""The supervisor: starts the Flask development server, keeps it on a leash,
and tells its subscribers everything that happens.

It runs on an asyncio loop (Textual's, or its own in headless mode) and owns:
the server's process tree, the agent socket the server reports on, the control
socket other terminals steer it through, the allowlist and its deadlines, the
attach relay, and stats sampling. Every toggle, from a key or from another
terminal, goes through the same public coroutine here.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import getpass
import hmac
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from debugdash.core import process
from debugdash.protocol import commands as wire
from debugdash.protocol.addresses import is_local, parse_peer
from debugdash.core.allowlist import AccessEntry, Allowlist, parse_duration, parse_network, parse_what
from debugdash.core.attach import AttachSession
from debugdash.core.audit import AuditLog
from debugdash.core.control import ControlServer
from debugdash.protocol.clock import Clock, system_clock
from debugdash.core.errors import UserInputError
from debugdash.protocol.events import (
    AccessExpired,
    AccessGranted,
    AccessRefused,
    AccessRevoked,
    Event,
    Exited,
    LoadError,
    Notice,
    Ready,
    Reload,
    Started,
    Toggles,
)
from debugdash.core.filewatch import FileWatcher
from debugdash.core.logbuffer import LineSplitter, LogBuffer
from debugdash.protocol import env as agent_env
from debugdash.core.runtime import control_socket_path, new_session_dir, runtime_base, sweep_stale
from debugdash.core.settings import Settings, as_dict
from debugdash.core.stats import TreeSampler

Subscriber = Callable[[list[Event]], None]

#: How often stats are sampled while the server runs.
STATS_INTERVAL = 1.0
#: How often deadlines are checked while any grant exists (enforcement itself
#: happens on every request, in the agent and the relay).
EXPIRY_TICK = 0.25
#: Every how many stats ticks exited orphans are reaped: listing our children
#: reads every process's /proc entry (about 10 ms with 500 processes).
REAP_EVERY = 10


class Supervisor:
    """One supervised Flask development server and everything around it."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None, audit: AuditLog | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock or system_clock()
        self.logs = LogBuffer()
        self.allowlist = Allowlist(self.clock)
        self.audit = audit if audit is not None else AuditLog(clock=self.clock)
        self.toggles = Toggles(
            debug=settings.debug,
            debugger=settings.debugger,
            reloader=settings.reload,
            attach=False,
        )
        self.ready: Ready | None = None
        self.phase = "stopped"
        self.last_exit: Exited | None = None
        self._subscribers: list[Subscriber] = []
        self._token = secrets.token_urlsafe(32)
        self._session_dir: Path | None = None
        self._agent_server: asyncio.AbstractServer | None = None
        self._agents: dict[asyncio.StreamWriter, wire.Hello] = {}
        self._control: Any = None
        self._proc: asyncio.subprocess.Process | None = None
        self._proc_done: asyncio.Event | None = None
        self._sampler: TreeSampler | None = None
        self._expected_exit = False
        self._stopping = False
        self._started = False
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._grants_changed = asyncio.Event()
        self._crash_watch: asyncio.Task[Any] | None = None
        self._relay: AttachSession | None = None
        self._before_attach: tuple[bool, bool] | None = None
        self._launched_at = 0.0
        self._audit_warned = False
        self._restarting = False
        self._start_done = asyncio.Event()
        self._listener: socket.socket | None = None
        self._spare: _Server | None = None
        #: A pipe only we write to; each server's guard waits for its end of file (we are gone).
        self._guard_pipe: tuple[int, int] | None = None
        #: Servers we started and asyncio still waits for; other children of ours are adopted orphans.
        self._own_children: set[int] = set()
        self._spawning = 0
        #: Whether the running server was told to start debugpy (it can only once).
        self._debugpy_used = False
        #: The debugger toggle when debug mode was turned off, to restore with it.
        self._debugger_before_debug_off: bool | None = None

    # --- subscribing ---------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(events)`` with each batch of events; returns the unsubscribe function."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def publish(self, events: list[Event]) -> None:
        """Hand events to every subscriber (and the audit log). Public for tests that replay events."""
        if not events:
            return
        for event in events:
            if not self.audit.record(event) and self.audit.error is not None and not self._audit_warned:
                self._audit_warned = True
                events = [*events, Notice(level="error", message=f"cannot write the audit log {self.audit.path}: {self.audit.error.strerror}")]
        for callback in list(self._subscribers):
            try:
                callback(events)
            except Exception as e:  # a broken subscriber must not take the server down
                print(f"debugdash: subscriber failed: {e!r}", file=sys.stderr)

    def publish_one(self, event: Event) -> None:
        self.publish([event])

    # --- life cycle ----------------------------------------------------------

    async def start(self) -> None:
        """Open the sockets and launch the server; returns once it is launched.

        Raises UserInputError when the port is taken.
        """
        if self._started:
            return
        self._started = True
        try:
            await self._start()
        finally:
            self._start_done.set()

    async def _start(self) -> None:
        process.check_port_free(self.settings.host, self.settings.port)
        base = runtime_base()
        # What SIGKILLed sessions of ours left behind goes before we add our own.
        sweep_stale(base)
        self._guard_pipe = os.pipe()
        self._session_dir = new_session_dir(base, self.settings.port)
        agent_path = self._session_dir / "agent.sock"
        self._agent_server = await asyncio.start_unix_server(self._on_agent, path=str(agent_path), limit=wire.MAX_LINE)
        os.chmod(agent_path, 0o600)
        _redirect_package("debugdash", self._session_dir / "path")
        _link_package("debugpy", self._session_dir / "debugpy-path")

        self._control = ControlServer(self, control_socket_path(base, self.settings.port))
        await self._control.start()
        self.publish_one(self.toggles)
        for address in self.settings.allow:
            await self.grant(address, ttl=self.settings.ttl, wide=self.settings.wide)
        self._spawn(self._expiry_loop())
        self._spawn(self._stats_loop())
        if self.settings.binds_network and self.toggles.debugger:
            self.publish_one(
                Notice(
                    level="warning",
                    message=f"the server listens on {self.settings.host}: the debugger is on for this machine "
                    "and for granted addresses only; grant with g or `debugdash allow ADDR`",
                )
            )
        if self.settings.attach:
            # Before the first launch, so the server starts in external-debugger mode once.
            await self._open_attach()
        await self._launch("start")

    async def stop(self) -> None:
        """Stop everything: the server tree, the attach port, the sockets. Idempotent."""
        if self._stopping:
            if self._proc_done is not None:
                await self._proc_done.wait()
            return
        self._stopping = True
        if self._started:
            # Let a start in progress finish (it launches nothing once stopping) so
            # that everything it opened is there to be closed.
            await self._start_done.wait()
        if self._crash_watch is not None:
            self._crash_watch.cancel()
        await self._terminate()
        await self._discard_spare()
        self._close_listener()
        if self._relay is not None:
            with contextlib.suppress(Exception):
                await self._relay.close()
            self._relay = None
        for task in list(self._tasks):
            task.cancel()
        if self._control is not None:
            await self._control.stop()
        if self._agent_server is not None:
            self._agent_server.close()
        for writer in list(self._agents):
            writer.close()
        if self._session_dir is not None:
            shutil.rmtree(self._session_dir, ignore_errors=True)
        self.audit.close()  # counts of repeated refusals still pending
        self._close_guard_pipe()
        self.phase = "stopped"

    def kill_now(self) -> None:
        """Synchronous last resort (e.g. after the event loop is gone): end the server tree."""
        if self._proc is not None and self._proc.returncode is None:
            process.kill_tree(self._proc.pid, self._sampler.known() if self._sampler else None, grace=0.5)
        if self._spare is not None and self._spare.proc.returncode is None:
            process.kill_tree(self._spare.proc.pid, None, grace=0.5)
        self._close_listener()
        if self._control is not None:
            self._control.remove_socket()
        if self._session_dir is not None:
            shutil.rmtree(self._session_dir, ignore_errors=True)
        self.audit.close()
        self._close_guard_pipe()

    def _close_guard_pipe(self) -> None:
        # Called once the tree is ended: the guards' end of file finds nothing left to kill.
        pipe, self._guard_pipe = self._guard_pipe, None
        for fd in pipe or ():
            with contextlib.suppress(OSError):
                os.close(fd)

    async def restart(self, reason: str = "restart") -> None:
        """Stop the server if it runs, and start it again."""
        async with self._lock:
            if self._stopping:
                return
            self._restarting = True
            try:
                await self._terminate()
            finally:
                self._restarting = False
            await self._launch(reason)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- the server process --------------------------------------------------

    def command(self) -> list[str]:
        """The command line that runs the server under the agent."""
        s = self.settings
        if s.script is not None:
            return [s.python, "-m", "debugdash.agent", "script", str(s.script), *s.extra_args]
        cmd = [s.python, "-m", "debugdash.agent", "flask"]
        if s.app:
            cmd += ["--app", s.app]
        cmd += ["--debug" if self.toggles.debug else "--no-debug", "run"]
        cmd += ["--host", s.host, "--port", str(s.port)]
        cmd += ["--reload" if self.toggles.reloader else "--no-reload"]
        if s.cert:
            cmd += ["--cert", s.cert]
        if s.key:
            cmd += ["--key", s.key]
        return [*cmd, *s.extra_args]

    def _environment(self) -> dict[str, str]:
        assert self._session_dir is not None
        env = {**self.settings.env, **os.environ}
        import_dir = str(self._session_dir / "path")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (import_dir, env.get("PYTHONPATH", "")) if p)
        env[agent_env.SOCKET_ENV] = str(self._session_dir / "agent.sock")
        env[agent_env.TOKEN_ENV] = self._token
        env[agent_env.RELOAD_ENV] = "1" if self.toggles.reloader else "0"
        env[agent_env.DEBUGPY_PATH_ENV] = str(self._session_dir / "debugpy-path")
        # A loopback peer is local only when it is this user: the agent must know who that is.
        env[agent_env.OWNER_UID_ENV] = str(os.getuid())
        env[agent_env.PARENT_PID_ENV] = str(os.getpid())
        if self._guard_pipe is not None:
            env[agent_env.GUARD_FD_ENV] = str(self._guard_pipe[0])
        if self.settings.script is not None:
            env[agent_env.HOST_ENV] = self.settings.host
            if self.settings.port_given:
                env[agent_env.PORT_ENV] = str(self.settings.port)
            env.pop("FLASK_RUN_FROM_CLI", None)
        # Textual and our own terminal settings mean nothing to the server.
        env.pop("TEXTUAL", None)
        return env

    # With the reloader on, debugdash itself is the reloader's parent: it holds
    # the listening socket (so the port never closes between workers), starts
    # each worker with WERKZEUG_RUN_MAIN set, starts the next one when a worker
    # exits with code 3, and keeps a warm spare worker that has already
    # imported Flask and Werkzeug, so a reload only imports the app. Werkzeug's
    # own parent process would cost an interpreter and an import of the app.

    def _owns_socket(self) -> bool:
        # Script mode without --port: only the script knows its port.
        return self.toggles.reloader and self.settings.port_given

    def _open_listener(self) -> socket.socket:
        if self._listener is None:
            self._listener = _listen(self.settings.host, self.settings.port)
        return self._listener

    def _close_listener(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    async def _launch(self, reason: str) -> None:
        if self._stopping:
            return  # stop() came first (e.g. quit while starting): launch nothing
        self._expected_exit = False
        self._launched_at = time.time()
        self._debugpy_used = False
        self.ready = None
        self.phase = "starting"
        if self._crash_watch is not None:
            self._crash_watch.cancel()
            self._crash_watch = None
        try:
            if self._owns_socket():
                self._open_listener()
            else:
                self._close_listener()
            server = await self._activate_spare() if reason == "reload" else None
            if server is None:
                await self._discard_spare()
                server = await self._spawn_server()
        except OSError as e:
            self.phase = "crashed"
            self.publish_one(Notice(level="error", message=f"could not start the server: {e.strerror or e}"))
            self._crash_watch = self._spawn(self._restart_on_change())
            return
        self._proc = server.proc
        self._proc_done = asyncio.Event()
        self._sampler = TreeSampler(server.proc.pid)
        self.publish_one(Started(pid=server.proc.pid, command=self.command(), reason=reason))
        self._spawn(self._watch_process(server, self._proc_done))

    async def _spawn_server(self, *, spare: bool = False) -> _Server:
        env = self._environment()
        pass_fds: tuple[int, ...] = ()
        if self._owns_socket():
            listener = self._open_listener()
            env["WERKZEUG_RUN_MAIN"] = "true"
            env["WERKZEUG_SERVER_FD"] = str(listener.fileno())
            pass_fds = (listener.fileno(),)
        if spare:
            env[agent_env.SPARE_ENV] = "1"
        if self._guard_pipe is not None:
            pass_fds = (*pass_fds, self._guard_pipe[0])
        self._spawning += 1
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.command(),
                stdin=asyncio.subprocess.PIPE if spare else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=str(self.settings.cwd),
                env=env,
                pass_fds=pass_fds,
                start_new_session=True,
            )
            self._own_children.add(proc.pid)
        finally:
            self._spawning -= 1
        _widen_pipes(proc)
        assert proc.stdout is not None and proc.stderr is not None
        # Read from the start: a spare, too, must never block on a full pipe.
        pumps = [
            asyncio.ensure_future(self._pump(proc.stdout, "stdout")),
            asyncio.ensure_future(self._pump(proc.stderr, "stderr")),
        ]
        return _Server(proc, pumps, self._spare_key())

    def _spare_key(self) -> tuple[Any, ...]:
        return (tuple(self.command()), self.toggles.debug, self.toggles.reloader)

    async def _start_spare(self) -> None:
        if self._spare is not None or self._stopping or not self._owns_socket():
            return
        try:
            self._spare = await self._spawn_server(spare=True)
        except OSError:
            self._spare = None

    async def _activate_spare(self) -> _Server | None:
        """The warm spare, told to become the worker; None when there is no usable one."""
        spare, self._spare = self._spare, None
        if spare is None:
            return None
        if spare.proc.returncode is None and spare.key == self._spare_key() and spare.proc.stdin is not None:
            try:
                spare.proc.stdin.write(b"go\n")
                await spare.proc.stdin.drain()
                return spare
            except (OSError, RuntimeError):
                pass
        await self._end_spare(spare)
        return None

    async def _discard_spare(self) -> None:
        spare, self._spare = self._spare, None
        if spare is not None:
            await self._end_spare(spare)

    async def _end_spare(self, spare: _Server) -> None:
        if spare.proc.returncode is None:
            await asyncio.to_thread(process.kill_tree, spare.proc.pid, None, 0.5)
        for pump in spare.pumps:
            pump.cancel()

    async def _watch_process(self, server: _Server, done: asyncio.Event) -> None:
        proc = server.proc
        returncode = await _exit_code(proc)
        # Output still in the pipes belongs to this run; grandchildren holding
        # the pipes open must not keep us waiting.
        await asyncio.wait(server.pumps, timeout=1.0)
        for pump in server.pumps:
            pump.cancel()
        expected = self._expected_exit or self._stopping
        self.ready = None
        if returncode == _RELOAD_EXIT_CODE and not expected and self._owns_socket():
            # The worker's reloader saw a change: the next worker starts at once.
            done.set()
            async with self._lock:
                if not self._stopping and self._proc is proc:
                    await self._launch("reload")
            return
        exited = Exited(
            pid=proc.pid,
            returncode=returncode,
            last_lines=[line.text for line in self.logs.tail(20)],
            expected=expected,
            restarting=self._restarting and not self._stopping,
        )
        self.last_exit = exited
        self.phase = "stopped" if expected else "crashed"
        done.set()
        self.publish_one(exited)
        if not expected:
            # Known but not running: end whatever it left behind, close the port
            # (clients get "refused", not a hang), then wait for a fix.
            sampler = self._sampler
            await asyncio.to_thread(process.kill_tree, proc.pid, sampler.known() if sampler else None, 0.5)
            await self._discard_spare()
            # What the crashed server started was re-parented to us (as subreaper).
            await asyncio.to_thread(process.end_adopted, set(self._own_children))
            self._close_listener()
            self._crash_watch = self._spawn(self._restart_on_change())

    async def _pump(self, stream: asyncio.StreamReader, name: str) -> None:
        splitter = LineSplitter()
        while chunk := await stream.read(256 * 1024):
            lines = splitter.feed(chunk)
            if lines:
                self.logs.append(name, lines)
        self.logs.append(name, splitter.flush())

    async def _terminate(self) -> None:
        proc, done = self._proc, self._proc_done
        if proc is None or done is None or done.is_set():
            return
        self._expected_exit = True
        # The server itself is our child and asyncio reaps it; psutil only waits
        # for the rest of the tree, or the exit code would be lost.
        others = process.members(proc.pid, self._sampler.known() if self._sampler else None)
        process.signal_tree(proc.pid, others, signal.SIGTERM)
        try:
            await asyncio.wait_for(done.wait(), timeout=process.GRACE_SECONDS)
        except asyncio.TimeoutError:
            process.signal_tree(proc.pid, others, signal.SIGKILL)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=3.0)
        await asyncio.to_thread(process.finish, proc.pid, others, 0.5)

    async def _restart_on_change(self) -> None:
        """After a crash: restart on the next change to the app's files, never in a loop."""
        watcher = FileWatcher(self.settings.cwd, extra=self._watched_extra())
        await watcher.changed(since=self._launched_at)
        async with self._lock:
            if self._stopping or self.phase != "crashed":
                return
            self._crash_watch = None
            await self._launch("file-change")

    def _watched_extra(self) -> list[Path]:
        return [self.settings.script] if self.settings.script is not None else []

    # --- the agent socket -----------------------------------------------------

    async def _on_agent(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), timeout=10)
            hello = wire.decode(line)
            if not isinstance(hello, wire.Hello) or not hmac.compare_digest(hello.token, self._token):
                writer.close()
                return
            self._agents[writer] = hello
            writer.write(wire.encode(self._configure_for(hello)))
            await writer.drain()
            while line := await reader.readline():
                try:
                    message = wire.decode(line)
                except ValueError:
                    continue
                if isinstance(message, Event):
                    self._on_agent_event(message)
        except (OSError, ValueError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            self._agents.pop(writer, None)
            writer.close()

    def _configure_for(self, hello: wire.Hello) -> wire.Configure:
        serving = hello.role in ("worker", "server")
        if serving and self.toggles.attach:
            self._debugpy_used = True
        return wire.Configure(
            debugger=self.toggles.debugger,
            grants=self.allowlist.wire_grants(),
            trusted_hosts=self.trusted_hosts(),
            attach_port=self._attach_internal_port() if (self.toggles.attach and serving) else None,
        )

    def _on_agent_event(self, event: Event) -> None:
        if isinstance(event, Ready):
            self.ready = event
            self.phase = "running"
            if self._owns_socket() and self._spare is None:
                # Warmed after the worker is up, so the two never compete at start.
                self._spawn(self._start_spare())
        elif isinstance(event, Reload):
            self.phase = "reloading"
        elif isinstance(event, LoadError) and self.phase == "reloading":
            self.phase = "running"
        self.publish_one(event)

    def _send(self, command: wire.Command, roles: tuple[str, ...] = ("worker", "server", "reloader")) -> None:
        data = wire.encode(command)
        for writer, hello in list(self._agents.items()):
            if hello.role in roles:
                with contextlib.suppress(OSError, RuntimeError):
                    writer.write(data)

    def trusted_hosts(self) -> list[str]:
        """The host names the debugger accepts (DNS-rebinding protection); never empty."""
        hosts = ["127.0.0.1", "localhost", ".localhost", "::1", socket.gethostname()]
        host = self.settings.host
        if host in ("0.0.0.0", "::"):
            with contextlib.suppress(OSError):
                for addresses in psutil.net_if_addrs().values():
                    hosts += [a.address.split("%")[0] for a in addresses if a.family in (socket.AF_INET, socket.AF_INET6)]
        else:
            hosts.append(host)
        hosts += self.settings.trusted_hosts
        return list(dict.fromkeys(h for h in hosts if h))

    # --- toggles ----------------------------------------------------------------

    def _set_toggles(self, **changes: bool) -> None:
        self.toggles = dataclasses.replace(self.toggles, **changes, time=_now())
        self.publish_one(self.toggles)

    async def set_debugger(self, on: bool) -> None:
        """Open or close the debugger gate, live (no restart)."""
        if on == self.toggles.debugger:
            return
        self._set_toggles(debugger=on)
        self._send(wire.SetGate(debugger=on))

    async def set_reloader(self, on: bool) -> None:
        """Turn the reloader on or off; restarts the server."""
        if on == self.toggles.reloader:
            return
        self._set_toggles(reloader=on)
        await self.restart("toggle")

    async def set_debug(self, on: bool) -> None:
        """Turn Flask's debug mode on or off; restarts the server.

        The debugger follows, as with `flask run --debug`/`--no-debug`: a server
        out of debug mode has no console; back in debug mode, the debugger is as
        it was before (still off while attach keeps it off).
        """
        if on == self.toggles.debug:
            return
        if on:
            debugger, self._debugger_before_debug_off = self._debugger_before_debug_off, None
            if debugger is None:
                debugger = True
            if self._relay is not None and not self.settings.attach_keep_debugger:
                debugger = False
        else:
            self._debugger_before_debug_off = self.toggles.debugger
            debugger = False
        if debugger != self.toggles.debugger:
            self._send(wire.SetGate(debugger=debugger))
        self._set_toggles(debug=on, debugger=debugger)
        await self.restart("toggle")

    async def set_attach(self, on: bool) -> None:
        """Turn external attach (debugpy behind the relay) on or off.

        As the Flask docs advise for external debuggers, attach also turns the
        built-in debugger and the reloader off, and turning it off restores them.
        Raises UserInputError when the attach port is taken (the server keeps running).
        """
        if on == self.toggles.attach:
            return
        if on:
            reloader_before = self.toggles.reloader
            await self._open_attach()
            if reloader_before != self.toggles.reloader or self._debugpy_used:
                # debugpy listens once per process: a server that had it needs a fresh start.
                await self.restart("toggle")
            else:
                self._send(wire.SetAttach(port=self._attach_internal_port()), roles=("worker", "server"))
                self._debugpy_used = True
            return
        session, self._relay = self._relay, None
        self._set_toggles(attach=False)
        self._send(wire.SetAttach(port=None), roles=("worker", "server"))
        if session is not None:
            await session.close()
        debugger, reloader = self._before_attach or (self.toggles.debugger, self.toggles.reloader)
        self._before_attach = None
        await self.set_debugger(debugger)
        await self.set_reloader(reloader)

    async def _open_attach(self) -> None:
        session = AttachSession(
            self.settings,
            server_pids=self.server_pids,
            allowed=self.allows_attach,
            granted=lambda peer: self.allowlist.allows(peer, "attach"),
            publish=self.publish_one,
        )
        await session.open()  # raises UserInputError when the port is taken
        self._relay = session
        self._before_attach = (self.toggles.debugger, self.toggles.reloader)
        changes = {"attach": True}
        if not self.settings.attach_keep_debugger:
            changes["debugger"] = False
        if not self.settings.attach_keep_reloader:
            changes["reloader"] = False
        if self.toggles.debugger and not changes.get("debugger", True):
            self._send(wire.SetGate(debugger=False))
        self._set_toggles(**changes)

    def _attach_internal_port(self) -> int | None:
        return self._relay.internal_port if self._relay is not None else None

    def attach_help(self) -> dict[str, Any] | None:
        """How to connect an IDE: the port, the SSH tunnel, a VS Code launch.json entry."""
        if self._relay is None:
            return None
        return self._relay.help()

    @property
    def suggested_grant(self) -> str | None:
        """The SSH client's address, when the server is reachable from a network."""
        if not self.settings.binds_network:
            return None
        connection = os.environ.get("SSH_CONNECTION", "").split()
        return connection[0] if connection else None

    # --- remote access -----------------------------------------------------------

    async def grant(
        self,
        address: str,
        what: str = "debugger",
        ttl: str | float | None = None,
        *,
        wide: bool = False,
        user: str | None = None,
    ) -> AccessEntry:
        """Give ``address`` access to ``what`` for ``ttl`` (default: settings.ttl).

        Granting an address again sets its deadline anew. Raises UserInputError.
        """
        network = parse_network(address, wide=wide)
        kinds = parse_what(what)
        # An entry that ran out but was not yet collected must report its expiry first.
        self.check_expiry()
        if ttl is None:
            seconds = float(self.settings.ttl)
        elif isinstance(ttl, str):
            seconds = parse_duration(ttl)
        else:
            seconds = ttl  # the allowlist checks the range
        entry, extended = self.allowlist.grant(network, kinds, seconds, user=user or _user())
        self._push_grants(rotate=False)
        self._grants_changed.set()
        self.publish_one(
            AccessGranted(address=entry.network, what=list(entry.what), seconds=seconds, extended=extended, user=entry.user)
        )
        if "debugger" in kinds and not self.toggles.debugger:
            self.publish_one(Notice(level="warning", message="the debugger is off; the grant takes effect when you turn it on (d)"))
        return entry

    async def revoke(self, address: str, *, user: str | None = None) -> AccessEntry:
        """Remove the entry for ``address`` now. Raises UserInputError when there is none."""
        network = parse_network(address, wide=True)
        entry = self.allowlist.revoke(network)
        if entry is None:
            raise UserInputError(f"{address} has no access to revoke; `debugdash status` lists the granted addresses")
        self._access_ended([entry])
        self.publish_one(AccessRevoked(address=entry.network, what=list(entry.what), user=user or _user()))
        return entry

    async def revoke_all(self, *, user: str | None = None) -> list[AccessEntry]:
        entries = self.allowlist.revoke_all()
        if entries:
            self._access_ended(entries)
        for entry in entries:
            self.publish_one(AccessRevoked(address=entry.network, what=list(entry.what), user=user or _user()))
        return entries

    def access_entries(self) -> list[AccessEntry]:
        return self.allowlist.entries()

    def check_expiry(self) -> list[AccessEntry]:
        """Remove entries whose deadline has come; called by a ticker, and by tests after moving the clock."""
        expired = self.allowlist.pop_expired()
        if expired:
            self._access_ended(expired)
            for entry in expired:
                self.publish_one(AccessExpired(address=entry.network, what=list(entry.what)))
        return expired

    def _access_ended(self, entries: list[AccessEntry]) -> None:
        # The agent enforces deadlines itself; this makes the change immediate
        # and retires the debugger's frames and secret.
        self._push_grants(rotate=True)
        if self._relay is not None:
            self._relay.close_unallowed()

    def _push_grants(self, rotate: bool) -> None:
        self._send(wire.SetGrants(grants=self.allowlist.wire_grants(), rotate=rotate))

    def server_pids(self) -> list[int]:
        """The running server and its descendants: the processes whose debugger may reach the attach hub."""
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return []
        try:
            return [proc.pid, *(child.pid for child in psutil.Process(proc.pid).children(recursive=True))]
        except psutil.Error:
            return [proc.pid]

    def allows_attach(self, peer: str) -> bool:
        """By address alone; the relay also requires a loopback peer to be this user or granted."""
        return is_local(parse_peer(peer)) or self.allowlist.allows(peer, "attach")

    def refuse(self, peer: str, what: str, detail: str = "") -> None:
        self.publish_one(AccessRefused(address=peer, what=what, detail=detail))

    async def _expiry_loop(self) -> None:
        while True:
            if not self.allowlist.entries():
                self._grants_changed.clear()
                await self._grants_changed.wait()
            await asyncio.sleep(EXPIRY_TICK)
            self.check_expiry()

    async def _stats_loop(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(STATS_INTERVAL)
            ticks += 1
            if ticks % REAP_EVERY == 0 and not self._spawning:
                # Orphans re-parented to us (as subreaper) must not pile up as zombies;
                # never while a spawn is under way, when a new server is not yet known as ours.
                self._own_children = process.reap_adopted(self._own_children)
            sampler = self._sampler
            if sampler is None or self._proc is None or self._proc.returncode is not None:
                continue
            stats = await asyncio.to_thread(sampler.sample)
            if stats is not None:
                self.publish_one(stats)

    # --- status ---------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Everything `debugdash status` shows, as JSON-able data (the PIN too: only its user reaches the control socket)."""
        now = self.clock()
        ready = self.ready
        return {
            "app": self.settings.app_label,
            "phase": self.phase,
            "url": ready.url if ready else self.settings.url,
            "pid": ready.pid if ready else (self._proc.pid if self._proc else None),
            "supervisor_pid": os.getpid(),
            "port": self.settings.port,
            "host": self.settings.host,
            "toggles": {k: v for k, v in self.toggles.to_dict().items() if k not in ("event", "time")},
            "pin": ready.pin if ready else None,
            "reloader_type": ready.reloader_type if ready else None,
            "grants": [entry.to_dict(now) for entry in self.allowlist.entries()],
            "audit_log": str(self.audit.path) if self.audit.path else None,
            "attach": self.attach_help(),
            "suggested_grant": self.suggested_grant,
            "python": self.settings.python,
            "settings": as_dict(self.settings),
        }


#: Werkzeug's reloader ends a worker with this code to ask for the next one.
_RELOAD_EXIT_CODE = 3


@dataclasses.dataclass
class _Server:
    """A server process we started, with the tasks reading its output."""

    proc: asyncio.subprocess.Process
    pumps: list[asyncio.Task[None]]
    key: tuple[Any, ...]  # what it was started with; a spare must still match


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket as Werkzeug's server makes one, for workers to inherit."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(infos[0][4])
        sock.listen(128)  # werkzeug.serving.LISTEN_QUEUE
        # Not inheritable: pass_fds hands it to each worker, and to nobody else.
    except OSError:
        sock.close()
        raise
    return sock


async def _exit_code(proc: asyncio.subprocess.Process) -> int:
    """The exit code of ``proc`` as soon as it exits.

    ``proc.wait()`` returns only once its output pipes are closed too, which a
    child it left behind (a daemon started just before a crash) may never do.
    """
    waiter = asyncio.ensure_future(proc.wait())
    try:
        while proc.returncode is None:
            await asyncio.wait([waiter], timeout=0.5)
        # Exited: a moment for the pipes to close as usual, then go on without them.
        await asyncio.wait([waiter], timeout=1.0)
        return proc.returncode
    finally:
        waiter.cancel()


def _widen_pipes(proc: asyncio.subprocess.Process) -> None:
    """Give the output pipes 1 MiB instead of 64 KiB (Linux), so a burst of output
    waits in the pipe rather than blocking the app while we are busy elsewhere."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", 1031 if sys.platform == "linux" else None)
    if set_size is None:
        return
    for stream in (proc.stdout, proc.stderr):
        transport = getattr(stream, "_transport", None)
        pipe = transport.get_extra_info("pipe") if transport is not None else None
        if pipe is not None:
            with contextlib.suppress(OSError):
                fcntl.fcntl(pipe.fileno(), set_size, 1 << 20)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _now() -> float:
    return time.time()


def _redirect_package(name: str, into: Path) -> None:
    """Make package ``name`` importable from ``into`` alone, keeping its real file names.

    A one-line package whose ``__path__`` is our real package: tracebacks and the
    reloader see the real files, and nothing else from our environment leaks in.
    """
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return
    real = next(iter(spec.submodule_search_locations))
    package = into / name
    package.mkdir(parents=True)
    init = os.path.join(real, "__init__.py")
    (package / "__init__.py").write_text(
        "# Written by debugdash for this session: the real package lives elsewhere.\n"
        f"__path__ = [{real!r}]\n"
        f"__file__ = {init!r}\n"
        f"exec(compile(open(__file__).read(), __file__, 'exec'))\n"
    )


def _link_package(name: str, into: Path) -> None:
    """Make our copy of package ``name`` importable from ``into`` alone.

    The server may run in another virtualenv; a directory holding just this
    link keeps the rest of our environment (Textual, our Werkzeug) out of it.
    """
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return
    into.mkdir(exist_ok=True)
    (into / name).symlink_to(next(iter(spec.submodule_search_locations)), target_is_directory=True)

