"""The supervisor: starts the Flask development server, keeps it on a leash,
and tells its subscribers everything that happens.

A facade on an asyncio loop (Textual's, or its own in headless mode) over parts
that each do one job and get what they need as callables: ``Lifecycle`` (the
server process, the reloader parent, crash policy), ``AgentHub`` (the agent
socket, and the queries it asks the serving process), ``AccessControl`` (grants
and expiry), ``SessionPin``, ``Switches`` (the toggles and attach),
``RequestSession`` (requests, replay, verify on reload), ``ConsoleAccess`` (the
frame console), ``SessionViews`` and ``CodingAgents`` (`debugdash mcp`),
``ControlServer`` (other terminals), ``SessionDir``. Every toggle, from
a key or from another terminal, goes through the same public coroutine here.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

from debugdash.core import process
from debugdash.core.access_control import AccessControl
from debugdash.core.agent_hub import AgentHub
from debugdash.core.allowlist import AccessEntry
from debugdash.core.audit import AuditLog
from debugdash.core.bus import EventBus, Subscriber
from debugdash.core.coding_agents import CodingAgents
from debugdash.core.console import ConsoleAccess
from debugdash.core.control import ControlServer
from debugdash.core.lifecycle import Lifecycle
from debugdash.core.logbuffer import LogBuffer
from debugdash.core.observe import SessionViews
from debugdash.core.pins import SessionPin
from debugdash.core.request_session import RequestSession
from debugdash.core.runtime import control_socket_path, runtime_base, sweep_stale
from debugdash.core.server_process import server_command, server_environment
from debugdash.core.session_dir import SessionDir
from debugdash.core.settings import Settings
from debugdash.core.state import SessionState
from debugdash.core.stats import StatsTicks
from debugdash.core.status import network_warning, session_status, suggested_grant, trusted_hosts
from debugdash.core.switches import Switches
from debugdash.core.template_keeper import TEMPLATE_SWITCH_ENV
from debugdash.core.ticker import Ticker
from debugdash.protocol import commands as wire
from debugdash.protocol.clock import Clock, system_clock
from debugdash.protocol.control import AttachInfo, SessionStatus
from debugdash.protocol.events import Event, Exited, Notice, Ready, Toggles
from debugdash.protocol.request_events import VerifyOnReload


class Supervisor:
    """One supervised Flask development server and everything around it."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None, audit: AuditLog | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock or system_clock()
        self.logs = LogBuffer()
        self.audit = audit if audit is not None else AuditLog(clock=self.clock)
        #: The session as its published events tell it (``phase``, ``status()`` read it).
        self.state = SessionState()
        self.ready: Ready | None = None
        self.last_exit: Exited | None = None
        self._bus = EventBus(self.audit, self._apply)
        self._started = False
        self._start_done = asyncio.Event()
        self._start_error: Exception | None = None
        self._session: SessionDir | None = None
        self._control: ControlServer | None = None
        self.hub = AgentHub(configure=self._configure_for, on_event=self._on_agent_event)
        #: Error groups with occurrence ids, and evaluations in their kept frames (issue 13).
        self.console = ConsoleAccess(
            ask=self.hub.ask,
            groups=lambda: self.state.error_groups,
            publish=self.publish_one,
            send=lambda command: self.hub.send(command, roles=("worker", "server")),
        )
        self.switches = Switches(
            settings,
            Toggles(debug=settings.debug, debugger=settings.debugger, reloader=settings.reload, attach=False),
            publish=self.publish_one,
            send=self.hub.send,
            restart=self.restart,
            server_pids=lambda: self.life.server_pids(),
            allowed=lambda peer: self.access.allows_attach(peer),
            granted=lambda peer: self.allowlist.allows(peer, "attach"),
        )
        self.access = AccessControl(
            self.clock,
            default_ttl=lambda: float(settings.ttl),
            publish=self.publish_one,
            push_grants=lambda grants, rotate: self.pins.push_grants(grants, rotate),
            on_ended=self.switches.close_unallowed,
            debugger_on=lambda: self.toggles.debugger,
        )
        self.allowlist = self.access.allowlist
        self.pins = SessionPin(self.hub.send)
        self.life = Lifecycle(
            settings,
            command=self.command,
            spare_key=lambda: (tuple(self.command()), self.toggles.debug, self.toggles.reloader),
            environment=lambda: server_environment(settings, self.toggles, self._session_dir(), self.hub.token),
            owns_socket=self._owns_socket,
            guard_fd=lambda: self._session.guard_fd if self._session else None,
            output=self.logs.append_block,
            last_lines=lambda: [line.text for line in self.logs.tail(20)],
            publish=self.publish_one,
            crashed=lambda: self.phase == "crashed",
            # Attach mode: the debug adapter is set up in a fresh worker (warm spare), never a fork.
            template_wanted=lambda: not self.toggles.attach and os.environ.get(TEMPLATE_SWITCH_ENV) != "0",
        )
        #: Everything that moves with time ticks here, together and only as often as it moves (stats, the dashboard's clocks).
        self.ticker = Ticker()
        self._stats: StatsTicks | None = None
        self.life.on_launch = self._forget_server
        self.life.on_exit = self._forget_ready
        #: What `debugdash mcp` reads, and the coding agents it reports (issue 17).
        self.views = SessionViews(logs=self.logs, state=lambda: self.state, subscribe=self.subscribe)
        self.coding_agents = CodingAgents(publish=self.publish_one, spawn=self.life.spawn_task)
        self.requests = RequestSession(
            verify_on_reload=settings.verify_on_reload,
            ready=lambda: self.ready,
            ask=self.hub.ask,
            state=lambda: self.state,
            publish=self.publish_one,
            spawn=self.life.spawn_task,
            push_trusted_hosts=lambda: self.hub.send(
                self.switches.configure(False, self.allowlist.wire_grants(), self.trusted_hosts()), roles=("worker", "server")
            ),
            renumbered=self.hub.lines.renumber,
        )

    # --- subscribing ---------------------------------------------------------

    def hold_events(self) -> None:
        """Keep what is published from now until ``held_events()``: for a face that subscribes late."""
        self._bus.hold()

    def held_events(self) -> list[Event]:
        return self._bus.held()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(events)`` with each batch of events; returns the unsubscribe function."""
        return self._bus.subscribe(callback)

    def publish(self, events: list[Event]) -> None:
        """Hand events to every subscriber (and the audit log). Public for tests that replay events."""
        self._bus.publish(events)

    def _apply(self, event: Event) -> None:
        self.state.apply(event)
        if isinstance(event, Exited):
            self.last_exit = event

    def publish_one(self, event: Event) -> None:
        self.publish([event])

    @property
    def phase(self) -> str:
        """Derived from the published events only, so every face shows the same."""
        return self.state.phase

    @property
    def toggles(self) -> Toggles:
        return self.switches.toggles

    # --- life cycle ----------------------------------------------------------

    async def start(self) -> None:
        """Open the sockets and launch the server; returns once it is launched.

        Raises UserInputError when the port is taken.
        """
        if self._started:
            # Begun already (the CLI starts it while the dashboard is built): its outcome.
            await self._start_done.wait()
            if self._start_error is not None:
                raise self._start_error
            return
        self._started = True
        try:
            await self._start()
        except Exception as e:
            self._start_error = e
            raise
        finally:
            self._start_done.set()

    async def _start(self) -> None:
        if self.settings.port_given:
            # Script mode without --port: only the script knows its port (see _on_agent_event).
            process.check_port_free(self.settings.host, self.settings.port)
        base = runtime_base()
        # What SIGKILLed sessions of ours left behind goes before we add our own.
        sweep_stale(base)
        self._session = SessionDir.create(base, self.settings.port)
        await self.hub.start(self._session.agent_socket)
        if self.settings.port_given:
            await self._open_control(self.settings.port)
        self.publish_one(self.toggles)
        self.publish_one(VerifyOnReload(on=self.requests.verify_on_reload))
        for address in self.settings.allow:
            await self.grant(address, ttl=self.settings.ttl, wide=self.settings.wide)
        self.life.spawn_task(self.access.expiry_loop())
        self._stats = StatsTicks(self.life.running_sampler, self.publish_one, self.life.reap_adopted, self.life.spawn_task)
        self.ticker.subscribe(self._stats.tick, first=True)  # before the dashboard's tick, which shows the sample
        if self.settings.binds_network and self.toggles.debugger:
            self.publish_one(Notice(level="warning", message=network_warning(self.settings)))
        if self.settings.attach:
            # Before the first launch, so the server starts in external-debugger mode once.
            await self.switches.open_attach()
        await self.life.launch("start")

    async def _open_control(self, port: int) -> None:
        """The control socket, named by the port the server binds: other terminals find the session by it."""
        if self._control is None and not self.life.stopping:
            self._control = ControlServer(self, control_socket_path(runtime_base(), port))
            await self._control.start()

    async def stop(self) -> None:
        """Stop everything: the server tree, the attach port, the sockets. Idempotent."""
        if self.life.stopping:
            if self.life.done is not None:
                await self.life.done.wait()
            return
        self.life.stopping = True
        if self._started:
            # Let a start in progress finish (it launches nothing once stopping) so
            # that everything it opened is there to be closed.
            await self._start_done.wait()
        await self.life.stop()
        self.ticker.stop()
        await self.switches.close_attach()
        if self._control is not None:
            await self._control.stop()
        self.hub.close()
        self.audit.close()  # counts of repeated refusals still pending
        if self._session is not None:
            self._session.remove()

    def kill_now(self) -> None:
        """Synchronous last resort (e.g. after the event loop is gone): end the server tree."""
        self.life.kill_now()
        if self._control is not None:
            self._control.remove_socket()
        self.audit.close()
        if self._session is not None:
            self._session.remove()

    async def restart(self, reason: str = "restart") -> None:
        """Stop the server if it runs, and start it again."""
        await self.life.restart(reason)

    def command(self) -> list[str]:
        """The command line that runs the server under the agent."""
        return server_command(self.settings, self.toggles)

    def _session_dir(self) -> SessionDir:
        assert self._session is not None
        return self._session

    def _owns_socket(self) -> bool:
        # Script mode without --port: only the script knows its port.
        return self.toggles.reloader and self.settings.port_given

    def _forget_server(self) -> None:
        self.ready = None

    def _forget_ready(self) -> None:
        self.ready = None

    # --- the agent ------------------------------------------------------------

    def _configure_for(self, hello: wire.Hello) -> wire.Configure:
        configure = self.switches.configure(hello.role in ("worker", "server"), self.allowlist.wire_grants(), self.trusted_hosts())
        configure.keep_frames = self.settings.keep_frames
        return self.pins.fill(configure)

    def _on_agent_event(self, event: Event) -> None:
        instead = self.requests.take(event)
        if instead is not None:
            if self._stats is not None and self._stats.busy():
                self.ticker.within(1)  # served requests: its figures every second again
            self.publish(instead)
            return
        if isinstance(event, Ready):
            self.ready = event
            if self.life.sampler is not None:
                self.life.sampler.focus_on(event.pid)
                self.ticker.within(1)  # a new server's figures at the next tick, however quiet the last one's were
            if self._control is None:
                self.life.spawn_task(self._open_control(event.port))
            if self._owns_socket() and self.life.reloader.spare is None:
                # Warmed after the worker is up, so the two never compete at start.
                self.life.spawn_task(self.life.start_spare())
        self.publish_one(event)

    def trusted_hosts(self) -> list[str]:
        """The host names the debugger accepts (DNS-rebinding protection); never empty."""
        return list(dict.fromkeys(trusted_hosts(self.settings) + self.requests.trusted_here))

    # --- toggles: the debugger gate is live; debug mode and the reloader restart (see Switches)

    async def set_debugger(self, on: bool) -> None:
        await self.switches.set_debugger(on)

    async def set_reloader(self, on: bool) -> None:
        await self.switches.set_reloader(on)

    async def set_debug(self, on: bool) -> None:
        await self.switches.set_debug(on)

    async def set_attach(self, on: bool) -> None:
        await self.switches.set_attach(on)  # UserInputError when the attach port is taken

    def attach_help(self) -> AttachInfo | None:
        """How to connect an IDE: the port, the SSH tunnel, a VS Code launch.json entry;
        and the debug session: where it is paused, which saved file waits for it."""
        info = self.switches.attach_help()
        if info is not None:
            info.reload_pending = self.state.attach.reload_pending
        return info

    @property
    def suggested_grant(self) -> str | None:
        return suggested_grant(self.settings)

    # --- remote access (see AccessControl) -------------------------------------------

    async def grant(
        self, address: str, what: str = "debugger", ttl: str | float | None = None, *, wide: bool = False, user: str | None = None
    ) -> AccessEntry:
        return self.access.grant(address, what, ttl, wide=wide, user=user)

    async def revoke(self, address: str, *, user: str | None = None) -> AccessEntry:
        return self.access.revoke(address, user=user)

    async def revoke_all(self, *, user: str | None = None) -> list[AccessEntry]:
        return self.access.revoke_all(user=user)

    def access_entries(self) -> list[AccessEntry]:
        return self.allowlist.entries()

    @property
    def pin(self) -> str:
        return self.pins.pin

    def rotate_pin(self) -> str:
        """A new debugger PIN and cookie name for this session; every unlocked browser must unlock again."""
        self.pins.push_grants(self.allowlist.wire_grants(), True)
        return self.pins.pin

    # --- status ---------------------------------------------------------------------

    def status(self) -> SessionStatus:
        """Everything `debugdash status` shows (the PIN too: only its user reaches the control socket)."""
        server = self.life.server
        status = session_status(
            self.settings, self.ready, self.phase, self.toggles,
            pid=server.pid if server else None,
            pin=self.pin,
            grants=[entry.info(self.clock()) for entry in self.allowlist.entries()],
            audit_log=str(self.audit.path) if self.audit.path else None,
            attach=self.attach_help(),
            suggested_grant=self.suggested_grant,
        )
        status.requests, status.error_groups = self.requests.counts()
        return status

    # --- errors ------------------------------------------------------------------------

    def clear_errors(self, key: tuple[str, str, int] | None = None) -> None:
        """Forget one error group (all with None) and let the server release their kept frames."""
        self.state.clear_errors(key)
        self.console.release(key)
