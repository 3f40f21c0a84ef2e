"""The harness itself: a failure in one of its threads fails the test with that failure."""

from __future__ import annotations

import socket

import pytest

from debugdash.core.events import Ready

from tests.agent.agentkit import TestSupervisor


def test_a_bad_line_to_the_test_supervisor_fails_the_waiting_test_with_its_cause() -> None:
    supervisor = TestSupervisor()
    try:
        with socket.socket(socket.AF_UNIX) as agent:
            agent.connect(supervisor.path)
            agent.sendall(b'{"kind": "not a hello"}\n')
            with pytest.raises(AssertionError, match="test supervisor: connection failed") as caught:
                supervisor.wait(Ready, timeout=60)
    finally:
        with pytest.raises(AssertionError, match="test supervisor: connection failed"):
            supervisor.close()
    assert "not within" not in str(caught.value), "surfaced as a timeout"
