"""Requests for one session (issue 12) behind one door: the records and failed
requests in memory (``RequestStore``), what the faces do with them
(``RequestActions``: detail, curl, replay), verify-on-reload (``Verifier``),
and the Host names trusted for this session from the refused inbox.

The supervisor hands each agent event here before publishing it; the parts get
what they need as callables, never the supervisor.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from debugdash.core.agent_hub import AgentQueryError
from debugdash.core.inbox import host_name
from debugdash.core.replay import ReplayResult
from debugdash.core.request_actions import RequestActions
from debugdash.core.requests import RequestDetail, RequestStore
from debugdash.core.state import ErrorGroup, SessionState
from debugdash.core.verify import Verifier
from debugdash.protocol import commands as wire
from debugdash.protocol.control import GroupCounts, RequestCounts
from debugdash.protocol.events import Event, Ready
from debugdash.protocol.request_events import RequestRecord
from debugdash.protocol.requests import CapturedRequest, RequestBatch


class RequestSession:
    def __init__(
        self,
        *,
        verify_on_reload: bool,
        ready: Callable[[], Ready | None],
        ask: Callable[..., Awaitable[Any]],
        state: Callable[[], SessionState],
        publish: Callable[[Event], None],
        spawn: Callable[[Any], Any],
        push_trusted_hosts: Callable[[], None],
        renumbered: Callable[[Event], None],
    ) -> None:
        self._ask = ask
        self._state = state
        self._spawn = spawn
        self._push_trusted_hosts = push_trusted_hosts
        self._renumbered = renumbered
        self.store = RequestStore()
        self.actions = RequestActions(self.store, ready=ready, fetch=self._fetch)
        self.verifier = Verifier(
            groups=lambda: state().error_groups,
            captured=self.store.captured,
            replay=self.actions.replay,
            publish=publish,
            on=verify_on_reload,
        )
        #: Host names trusted from the refused inbox, on top of the settings'.
        self.trusted_here: list[str] = []

    # --- what the faces call ------------------------------------------------------

    def records(self, **filters: Any) -> list[RequestRecord]:
        """Recent records, newest first (see ``RequestStore.records`` for the filters)."""
        return self.store.records(**filters)

    async def detail(self, request_id: int, *, reveal: bool = False) -> RequestDetail:
        return await self.actions.detail(request_id, reveal=reveal)

    async def curl(self, request_id: int, *, reveal: bool = False) -> str:
        return await self.actions.curl(request_id, reveal=reveal)

    async def replay(self, request_id: int, *, confirmed: bool = False) -> ReplayResult:
        return await self.actions.replay(request_id, confirmed=confirmed)

    def needs_confirmation(self, request_id: int) -> bool:
        return self.actions.needs_confirmation(request_id)

    @property
    def verify_on_reload(self) -> bool:
        return self.verifier.on

    def set_verify_on_reload(self, on: bool) -> None:
        self.verifier.set(on)

    def trust_host(self, host: str) -> str:
        """Let the debugger accept Host name ``host`` for this session; the name as trusted."""
        host = host_name(host)
        self.trusted_here.append(host)
        self._state().inbox.forget_host(host)
        self._push_trusted_hosts()
        return host

    def counts(self) -> tuple[RequestCounts, GroupCounts]:
        """For `debugdash status`: requests served and failed; error groups open and fixed."""
        groups: list[ErrorGroup] = self._state().error_groups
        fixed = sum(1 for group in groups if group.fixed)
        return (
            RequestCounts(total=self.store.total, failed=self.store.failed),
            GroupCounts(open=len(groups) - fixed, fixed=fixed),
        )

    # --- the agent's events ---------------------------------------------------------

    def take(self, event: Event) -> list[Event] | None:
        """Handle an agent event before it is published: a batch becomes one event of its records
        (returned, to publish instead), a traceback gets the session's request number, the first ready
        after a reload starts the verification. None: publish ``event`` itself."""
        if isinstance(event, RequestBatch):
            # Its full requests stay here, never published.
            return self.actions.take_batch(event)
        if self.actions.take_event(event):
            self._renumbered(event)
        if self.verifier.due(event):
            self._spawn(self.verifier.after_reload())
        return None

    async def _fetch(self, pid: int, number: int) -> CapturedRequest | None:
        try:
            reply = await self._ask(wire.FetchRequest(pid=pid, number=number), timeout=5.0)
        except AgentQueryError:
            return None  # no server, or another one: the request is gone with its worker
        return reply.request
