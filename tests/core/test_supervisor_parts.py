"""The supervisor's parts on their own, with fakes for what they are handed: a
fake agent link (records the commands sent), a manual clock, a fake restart.
Fast and without Flask; the real-server tests in tests/e2e cover them together."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from debugdash.core.access_control import AccessControl
from debugdash.core.errors import UserInputError
from debugdash.core.settings import Settings
from debugdash.core.switches import Switches
from debugdash.protocol.clock import ManualClock
from debugdash.protocol.commands import SetGate, WireGrant
from debugdash.protocol.events import AccessExpired, AccessGranted, AccessRevoked, Event, Notice, Toggles


class FakeAgentLink:
    """Stands for the agent socket: remembers every command, by the roles it went to."""

    def __init__(self) -> None:
        self.sent: list[object] = []
        self.pushed: list[tuple[list[WireGrant], bool]] = []

    def send(self, command: object, roles: tuple[str, ...] = ("worker", "server", "reloader")) -> None:
        self.sent.append(command)

    def push(self, grants: list[WireGrant], rotate: bool) -> None:
        self.pushed.append((grants, rotate))


def _access(clock: ManualClock, link: FakeAgentLink, events: list[Event], debugger: bool = True) -> AccessControl:
    return AccessControl(
        clock,
        default_ttl=lambda: 900.0,
        publish=events.append,
        push_grants=link.push,
        on_ended=lambda: None,
        debugger_on=lambda: debugger,
    )


def test_a_grant_is_pushed_to_the_agent_and_expires_on_the_injected_clock() -> None:
    clock, link, events = ManualClock(), FakeAgentLink(), []
    access = _access(clock, link, events)
    entry = access.grant("127.0.0.2", ttl="15m", user="ann")
    assert entry.network == "127.0.0.2/32"
    assert [g.network for g in link.pushed[-1][0]] == ["127.0.0.2/32"] and link.pushed[-1][1] is False
    assert isinstance(events[-1], AccessGranted) and events[-1].seconds == 900
    clock.advance(899.9)
    assert access.check_expiry() == []
    clock.advance(0.1)
    assert [e.network for e in access.check_expiry()] == ["127.0.0.2/32"]
    # The agent is told at once, and the debugger's secret rotated.
    assert link.pushed[-1] == ([], True)
    assert isinstance(events[-1], AccessExpired)
    assert access.allowlist.entries() == []


def test_revoking_an_address_without_a_grant_names_the_fix() -> None:
    access = _access(ManualClock(), FakeAgentLink(), [])
    with pytest.raises(UserInputError, match="no access to revoke; `debugdash status`"):
        access.revoke("127.0.0.9")


def test_revoke_all_reports_each_entry_and_rotates_once() -> None:
    link, events = FakeAgentLink(), []
    access = _access(ManualClock(), link, events)
    access.grant("127.0.0.2")
    access.grant("127.0.0.3", "attach")
    link.pushed.clear()
    revoked = access.revoke_all(user="ann")
    assert sorted(e.network for e in revoked) == ["127.0.0.2/32", "127.0.0.3/32"]
    assert link.pushed == [([], True)]
    assert [type(e) for e in events[-2:]] == [AccessRevoked, AccessRevoked]


def test_a_debugger_grant_while_the_debugger_is_off_says_so() -> None:
    events: list[Event] = []
    _access(ManualClock(), FakeAgentLink(), events, debugger=False).grant("127.0.0.2")
    assert isinstance(events[-1], Notice) and "the debugger is off" in events[-1].message


def _switches(tmp_path: Path, link: FakeAgentLink, restarts: list[str], events: list[Event]) -> Switches:
    async def restart(reason: str) -> None:
        restarts.append(reason)

    settings = Settings.for_tests(app="app", cwd=tmp_path)
    return Switches(
        settings,
        Toggles(debug=True, debugger=True, reloader=True, attach=False),
        publish=events.append,
        send=link.send,
        restart=restart,
        server_pids=lambda: [],
        allowed=lambda peer: False,
        granted=lambda peer: False,
    )


def test_the_debugger_switch_is_live_and_the_reloader_needs_a_restart(tmp_path: Path) -> None:
    link, restarts, events = FakeAgentLink(), [], []
    switches = _switches(tmp_path, link, restarts, events)
    asyncio.run(switches.set_debugger(False))
    assert link.sent == [SetGate(debugger=False)] and restarts == []
    assert events[-1] == switches.toggles and switches.toggles.debugger is False
    asyncio.run(switches.set_reloader(False))
    assert restarts == ["toggle"]


def test_debug_mode_off_takes_the_debugger_with_it_and_back(tmp_path: Path) -> None:
    link, restarts, events = FakeAgentLink(), [], []
    switches = _switches(tmp_path, link, restarts, events)
    asyncio.run(switches.set_debug(False))
    assert (switches.toggles.debug, switches.toggles.debugger) == (False, False)
    assert link.sent == [SetGate(debugger=False)] and restarts == ["toggle"]
    asyncio.run(switches.set_debug(True))
    assert (switches.toggles.debug, switches.toggles.debugger) == (True, True)


def test_configure_tells_a_new_worker_the_whole_state(tmp_path: Path) -> None:
    switches = _switches(tmp_path, FakeAgentLink(), [], [])
    grants = [WireGrant(network="127.0.0.2/32", what=["debugger"], deadline=5.0)]
    configure = switches.configure(True, grants, ["localhost"])
    assert (configure.debugger, configure.grants, configure.trusted_hosts, configure.attach_port) == (True, grants, ["localhost"], None)
