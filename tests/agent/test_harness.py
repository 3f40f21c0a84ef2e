"""The test harnesses themselves: what goes wrong in them fails the test as itself, not as a timeout."""

from __future__ import annotations

import socket

import pytest

from debugdash.protocol.events import Ready

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


def test_a_line_on_json_output_that_is_not_an_event_fails_the_session(tmp_path) -> None:
    from tests.support import SIMPLE_APP, Session, free_port, write_app

    write_app(tmp_path, SIMPLE_APP)
    noise = tmp_path / "noise"
    noise.mkdir()
    (noise / "sitecustomize.py").write_text("print('stray output')\n")
    session = Session("--app", "app", "--port", str(free_port()), "--no-reload", cwd=tmp_path,
                      env={"PYTHONPATH": str(noise)})
    try:
        with pytest.raises(AssertionError, match="stray output"):
            session.wait_event("ready", timeout=60)
    finally:
        with pytest.raises(AssertionError, match="stray output"):
            session.close()
