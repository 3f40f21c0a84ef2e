"""The test DAP client against real debugpy, directly and through the attach relay.

The debuggee is a real Python process calling ``debugpy.listen`` on 127.0.0.1;
debugpy starts an adapter subprocess, so every test kills the whole tree.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest

from debugdash.protocol.addresses import is_local, parse_peer
from debugdash.core.allowlist import Allowlist
from debugdash.core.attach_relay import AttachRelay
from debugdash.protocol.clock import ManualClock
from debugdash.protocol.events import AccessRefused, AttachClient
from tests.dap import DapClient, DapClosed, DapError
from tests.support import free_port, wait_for

pytestmark = pytest.mark.timeout(90)

DEBUGGEE = textwrap.dedent(
    """
    import sys
    import time

    import debugpy

    debugpy.listen(("127.0.0.1", int(sys.argv[1])))
    print("listening", flush=True)


    def handle(n):
        return n * 2  # breakpoint here


    while True:
        handle(1)
        time.sleep(0.02)
    """
)


class Debuggee:
    def __init__(self, script: Path, port: int, process: subprocess.Popen) -> None:
        self.script = script
        self.port = port
        self.process = process
        self.line = DEBUGGEE.splitlines().index("    return n * 2  # breakpoint here") + 1


@pytest.fixture
def debuggee(tmp_path):
    script = tmp_path / "debuggee.py"
    script.write_text(DEBUGGEE)
    port = free_port()
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    process = subprocess.Popen(
        [sys.executable, "-u", str(script), str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    try:
        _wait_for_line(process, b"listening", timeout=30)
        yield Debuggee(script, port, process)
    finally:
        _kill_tree(process.pid)
        process.wait(5)
        process.stdout.close()


def _wait_for_line(process: subprocess.Popen, marker: bytes, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    seen = b""
    while marker not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or process.poll() is not None:
            raise AssertionError(f"debuggee did not start: {seen.decode(errors='replace')}")
        ready, _, _ = select.select([process.stdout], [], [], remaining)
        if ready:
            seen += process.stdout.readline()


def _kill_tree(pid: int) -> None:
    try:
        parent = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    # Collect the children first: once the parent dies they are re-parented and lost.
    processes = parent.children(recursive=True) + [parent]
    for process in processes:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(processes, timeout=15)
    assert not alive, f"left running: {alive}"


def debug_once(dap: DapClient, debuggee: Debuggee) -> None:
    """initialize, attach with a breakpoint, stop there, continue, disconnect."""
    dap.initialize()
    reported = dap.attach(breakpoints={str(debuggee.script): [debuggee.line]})
    assert reported[str(debuggee.script)][0]["verified"]
    stopped = dap.wait_event("stopped", timeout=30, predicate=lambda e: e["body"].get("reason") == "breakpoint")
    thread_id = stopped["body"]["threadId"]
    frame = dap.top_frame(thread_id)
    assert Path(frame["source"]["path"]).resolve() == debuggee.script.resolve()
    assert frame["line"] == debuggee.line
    assert frame["name"] == "handle"
    dap.request("setBreakpoints", {"source": {"path": str(debuggee.script)}, "breakpoints": []})
    dap.request("continue", {"threadId": thread_id})
    dap.request("disconnect", {"terminateDebuggee": False})


def test_breakpoint_round_trip_with_real_debugpy(debuggee):
    with DapClient.connect("127.0.0.1", debuggee.port) as dap:
        debug_once(dap, debuggee)
        assert any(e["event"] == "initialized" for e in dap.events)
    # Detaching leaves the program running.
    assert debuggee.process.poll() is None


def test_adapter_errors_are_raised(debuggee):
    with DapClient.connect("127.0.0.1", debuggee.port) as dap:
        dap.initialize()
        with pytest.raises(DapError):
            dap.request("noSuchCommand", {})


# --- through the relay -----------------------------------------------------------


class RelayThread:
    """An AttachRelay on its own event loop thread, as the supervisor would run it."""

    def __init__(self, target_port: int, allowed) -> None:
        self.events: list = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.relay = AttachRelay(
            "127.0.0.1", 0, target=lambda: target_port, allowed=allowed, publish=self.events.append
        )

    def __enter__(self) -> RelayThread:
        self.thread.start()
        self.run(self.relay.start())
        return self

    def __exit__(self, *exc) -> None:
        self.run(self.relay.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    def call(self, function, *args):
        async def call():
            return function(*args)

        return self.run(call())

    def of(self, cls, **fields):
        return [e for e in self.events if isinstance(e, cls) and all(getattr(e, k) == v for k, v in fields.items())]


@pytest.fixture
def grants():
    clock = ManualClock()
    return Allowlist(clock)


def _allowed_by(allowlist: Allowlist):
    def allowed(peer: str) -> bool:
        return is_local(parse_peer(peer)) or allowlist.allows(peer, "attach")

    return allowed


def test_through_the_relay_from_local(debuggee, grants):
    with RelayThread(debuggee.port, _allowed_by(grants)) as relay:
        with DapClient.connect("127.0.0.1", relay.relay.port, source_address=("127.0.0.1", 0)) as dap:
            wait_for(lambda: [peer for peer, _ in relay.call(lambda: relay.relay.clients)] == ["127.0.0.1"])
            debug_once(dap, debuggee)
        wait_for(lambda: relay.of(AttachClient, state="disconnected", peer="127.0.0.1"))
        assert relay.of(AttachClient, state="connected", peer="127.0.0.1")


def test_through_the_relay_from_a_granted_remote_until_the_grant_ends(debuggee, grants):
    grants.grant("127.0.0.2", "attach", 900)
    grants.grant("127.0.0.3", "debugger", 900)  # not attach
    allowed = _allowed_by(grants)
    with RelayThread(debuggee.port, allowed) as relay:
        port = relay.relay.port
        with DapClient.connect("127.0.0.1", port, source_address=("127.0.0.2", 0)) as dap:
            debug_once(dap, debuggee)

        # Not granted attach: refused before any DAP message, and recorded.
        with DapClient.connect("127.0.0.1", port, source_address=("127.0.0.3", 0)) as refused:
            with pytest.raises((DapClosed, OSError)):
                refused.initialize(timeout=15)
        wait_for(lambda: relay.of(AccessRefused, address="127.0.0.3", what="attach"))
        assert relay.of(AttachClient, state="refused", peer="127.0.0.3")

        # A session open when the grant runs out is closed within a second.
        with DapClient.connect("127.0.0.1", port, source_address=("127.0.0.2", 0)) as dap:
            dap.initialize()
            dap.attach()
            grants.clock.advance(900)
            assert relay.call(relay.relay.close_where, lambda peer: not allowed(peer)) == 1
            assert dap.wait_closed(timeout=15)

        # The debuggee is unharmed and a local debugger can attach again.
        assert debuggee.process.poll() is None
        with DapClient.connect("127.0.0.1", port) as dap:
            debug_once(dap, debuggee)


def test_debugpy_survives_clients_that_drop_and_come_straight_back(debuggee):
    # Without the relay's settle time, an attach that lands while debugpy is still
    # finalizing the previous session is refused and debugpy stops answering.
    with RelayThread(debuggee.port, lambda peer: True) as relay:
        port = relay.relay.port
        for kicked in (False, True, False, True):
            dap = DapClient.connect("127.0.0.1", port)
            dap.initialize()
            dap.attach()
            if kicked:
                assert relay.call(relay.relay.close_where, lambda peer: True) == 1
                assert dap.wait_closed(timeout=15)
            dap.close()
        with DapClient.connect("127.0.0.1", port) as dap:
            debug_once(dap, debuggee)


# --- framing, against a scripted peer on a real socket pair ----------------------------


def _frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def test_framing_keeps_interleaved_messages_for_later():
    ours, theirs = socket.socketpair()
    dap = DapClient(ours)
    try:
        seq = dap.send_request("threads")
        header, _, body = theirs.recv(65536).partition(b"\r\n\r\n")
        assert header == b"Content-Length: %d" % len(body)
        assert json.loads(body) == {"seq": seq, "type": "request", "command": "threads"}
        late_event = _frame({"seq": 1, "type": "event", "event": "output", "body": {"output": "é\r\n\r\n"}})
        response = _frame(
            {"seq": 2, "type": "response", "request_seq": seq, "success": True, "command": "threads",
             "body": {"threads": []}}
        )
        stopped = _frame({"seq": 3, "type": "event", "event": "stopped", "body": {"threadId": 7}})
        stream = late_event + response + stopped
        # Split mid-header and mid-body: the client must reassemble.
        for chunk in (stream[:10], stream[10:57], stream[57:]):
            theirs.sendall(chunk)
        assert dap.wait_response(seq) == {"threads": []}
        assert dap.wait_event("stopped")["body"]["threadId"] == 7
        assert dap.wait_event("output")["body"]["output"] == "é\r\n\r\n"
        with pytest.raises(TimeoutError):
            dap.wait_event("stopped", timeout=0.2)
        failing = dap.send_request("evaluate", {"expression": "x"})
        theirs.recv(65536)
        theirs.sendall(
            _frame({"seq": 4, "type": "response", "request_seq": failing, "success": False, "command": "evaluate",
                    "message": "no frame"})
        )
        with pytest.raises(DapError, match="evaluate: no frame"):
            dap.wait_response(failing)
        theirs.close()
        assert dap.wait_closed(timeout=15)
        with pytest.raises(DapClosed):
            dap.wait_event("anything", timeout=1)
    finally:
        dap.close()
        theirs.close()
