"""Who the gate lets through, with a manual clock (in process, no server)."""

from __future__ import annotations

import re

import pytest

from debugdash.agent.gate import DebuggerGate, fresh_pin
from debugdash.protocol.clock import ManualClock
from debugdash.protocol.events import Gate
from debugdash.protocol.commands import WireGrant


def _gate(clock: ManualClock, **kw) -> tuple[DebuggerGate, list]:
    events: list = []
    gate = DebuggerGate(debugger=True, emit=events.append, clock=clock, **kw)
    return gate, events


def test_local_peers_follow_the_toggle_without_grants() -> None:
    gate, _ = _gate(ManualClock(), owner=1000)
    assert gate.allows("127.0.0.1", uid=1000)
    assert gate.allows("::1", uid=1000)
    assert gate.allows("::ffff:127.0.0.1", uid=1000)
    assert not gate.allows("127.0.0.1", uid=1001), "another Unix user on loopback is not local"
    assert not gate.allows("127.0.0.1"), "an owner that cannot be told is not local"
    assert not gate.allows("127.0.0.2", uid=1000)
    gate.set_debugger(False)
    assert not gate.allows("127.0.0.1", uid=1000)


@pytest.mark.parametrize("peer", ["", None, "not-an-address", "127.0.0.1, 127.0.0.2", " 127.0.0.1"])
def test_blank_or_unparsable_peers_are_denied(peer) -> None:
    gate, _ = _gate(ManualClock(), grants=[WireGrant("0.0.0.0/1", ["debugger"], 1e12)])
    assert not gate.allows(peer)


def test_grant_holds_until_its_deadline_and_not_at_it() -> None:
    clock = ManualClock(1000.0)
    gate, _ = _gate(clock, grants=[WireGrant("127.0.0.2/32", ["debugger"], 1900.0)])
    assert gate.allows("127.0.0.2")
    assert not gate.allows("127.0.0.3")
    clock.now = 1899.999
    assert gate.allows("127.0.0.2")
    clock.now = 1900.0
    assert not gate.allows("127.0.0.2")


def test_ipv4_mapped_peer_matches_its_ipv4_grant() -> None:
    gate, _ = _gate(ManualClock(), grants=[WireGrant("10.1.2.0/24", ["debugger"], 1e12)])
    assert gate.allows("::ffff:10.1.2.9")
    assert not gate.allows("::ffff:10.1.3.9")


def test_attach_only_grant_does_not_open_the_debugger() -> None:
    gate, _ = _gate(ManualClock(), grants=[WireGrant("127.0.0.2/32", ["attach"], 1e12)])
    assert not gate.allows("127.0.0.2")


def test_grants_do_nothing_while_the_debugger_is_off() -> None:
    gate, _ = _gate(ManualClock(), grants=[WireGrant("127.0.0.2/32", ["debugger"], 1e12)])
    gate.set_debugger(False)
    assert not gate.allows("127.0.0.2")


def test_gate_event_only_on_change_and_close_all_fails_closed() -> None:
    gate, events = _gate(ManualClock(), grants=[WireGrant("127.0.0.2/32", ["debugger"], 1e12)])
    gate.set_debugger(True)
    assert events == []
    gate.set_debugger(False)
    gate.set_debugger(True)
    assert [e.debugger for e in events if isinstance(e, Gate)] == [False, True]
    gate.close_all()
    assert not gate.allows("127.0.0.1")
    assert not gate.allows("127.0.0.2")


def test_pins_look_like_werkzeugs_and_differ() -> None:
    pins = {fresh_pin() for _ in range(20)}
    assert len(pins) > 15
    assert all(re.fullmatch(r"\d{3}-\d{3}-\d{3}", pin) for pin in pins)
