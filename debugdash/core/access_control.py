"""Remote access for one session: grants, revocations and expiry on the
injected clock, each published as an event and pushed to the agent.

Expiry is enforced where the access happens (the agent, the attach relay) on
every request; the ticker here makes the change visible and immediate.
"""

from __future__ import annotations

import asyncio
import getpass
import os
from collections.abc import Callable

from debugdash.core.allowlist import AccessEntry, Allowlist, parse_duration, parse_network, parse_what
from debugdash.core.errors import UserInputError
from debugdash.protocol.addresses import is_local, parse_peer
from debugdash.protocol.clock import Clock
from debugdash.protocol.commands import WireGrant
from debugdash.protocol.events import AccessExpired, AccessGranted, AccessRevoked, Event, Notice

#: How often deadlines are checked while any grant exists.
EXPIRY_TICK = 0.25


class AccessControl:
    def __init__(
        self,
        clock: Clock,
        *,
        default_ttl: Callable[[], float],
        publish: Callable[[Event], None],
        push_grants: Callable[[list[WireGrant], bool], None],
        on_ended: Callable[[], None],
        debugger_on: Callable[[], bool],
    ) -> None:
        self.allowlist = Allowlist(clock)
        self._default_ttl = default_ttl
        self._publish = publish
        self._push_grants = push_grants
        self._on_ended = on_ended
        self._debugger_on = debugger_on
        self._changed = asyncio.Event()

    def grant(
        self, address: str, what: str = "debugger", ttl: str | float | None = None, *, wide: bool = False, user: str | None = None
    ) -> AccessEntry:
        """Give ``address`` access to ``what`` for ``ttl``; granting again sets the deadline anew."""
        network = parse_network(address, wide=wide)
        kinds = parse_what(what)
        # An entry that ran out but was not yet collected must report its expiry first.
        self.check_expiry()
        if ttl is None:
            seconds = float(self._default_ttl())
        elif isinstance(ttl, str):
            seconds = parse_duration(ttl)
        else:
            seconds = ttl  # the allowlist checks the range
        entry, extended = self.allowlist.grant(network, kinds, seconds, user=user or _user())
        self._push_grants(self.allowlist.wire_grants(), False)
        self._changed.set()
        self._publish(
            AccessGranted(address=entry.network, what=list(entry.what), seconds=seconds, extended=extended, user=entry.user)
        )
        if "debugger" in kinds and not self._debugger_on():
            self._publish(Notice(level="warning", message="the debugger is off; the grant takes effect when you turn it on (d)"))
        return entry

    def revoke(self, address: str, *, user: str | None = None) -> AccessEntry:
        """Remove the entry for ``address`` now. Raises UserInputError when there is none."""
        network = parse_network(address, wide=True)
        entry = self.allowlist.revoke(network)
        if entry is None:
            raise UserInputError(f"{address} has no access to revoke; `debugdash status` lists the granted addresses")
        self._ended()
        self._publish(AccessRevoked(address=entry.network, what=list(entry.what), user=user or _user()))
        return entry

    def allows_attach(self, peer: str) -> bool:
        """By address alone; the relay also requires a loopback peer to be this user or granted."""
        return is_local(parse_peer(peer)) or self.allowlist.allows(peer, "attach")

    def revoke_all(self, *, user: str | None = None) -> list[AccessEntry]:
        entries = self.allowlist.revoke_all()
        if entries:
            self._ended()
        for entry in entries:
            self._publish(AccessRevoked(address=entry.network, what=list(entry.what), user=user or _user()))
        return entries

    def check_expiry(self) -> list[AccessEntry]:
        """Remove entries whose deadline has come."""
        expired = self.allowlist.pop_expired()
        if expired:
            self._ended()
            for entry in expired:
                self._publish(AccessExpired(address=entry.network, what=list(entry.what)))
        return expired

    async def expiry_loop(self) -> None:
        while True:
            if not self.allowlist.entries():
                self._changed.clear()
                await self._changed.wait()
            await asyncio.sleep(EXPIRY_TICK)
            self.check_expiry()

    def _ended(self) -> None:
        # The agent enforces deadlines itself; this makes the change immediate
        # and retires the debugger's frames and secret.
        self._push_grants(self.allowlist.wire_grants(), True)
        self._on_ended()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
