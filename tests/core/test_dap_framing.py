"""The attach path reads the Debug Adapter Protocol, not lines or chunks: a
message split across TCP segments, two messages in one segment, a 5 MB answer,
and bytes that are no DAP message at all (closed, with an audit line, while the
debuggee and other clients carry on).

The real relay and hub, on real sockets; behind them a stand-in debuggee
process that answers like pydevd (its `variables` answer is 5 MB: pydevd itself
truncates large values, so only a stand-in makes one).
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from debugdash.core.attach_hub import AttachHub
from debugdash.core.attach_relay import AttachRelay
from debugdash.core.audit import AuditLog
from debugdash.core.dap import frame

pytestmark = pytest.mark.timeout(90)

BIG = 5 * 1024 * 1024

DEBUGGEE = textwrap.dedent(
    """
    import json, socket, sys

    sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    stream = sock.makefile("rb")
    seq = 0
    while True:
        length = None
        while True:
            line = stream.readline()
            if not line:
                sys.exit(0)
            if line == b"\\r\\n":
                break
            length = int(line.split(b":")[1])
        request = json.loads(stream.read(length))
        body = {"supportsConfigurationDoneRequest": True}
        if request["command"] == "variables":
            body = {"variables": [{"name": "big", "value": "x" * %d, "variablesReference": 0}]}
        seq += 1
        answer = {"seq": seq, "type": "response", "request_seq": request["seq"], "success": True,
                  "command": request["command"], "body": body}
        data = json.dumps(answer).encode()
        sock.sendall(b"Content-Length: %%d\\r\\n\\r\\n" %% len(data) + data)
    """
    % BIG
)


@pytest.fixture
async def attach_path(tmp_path: Path):
    """(relay port, audit log, the debuggee process)."""
    audit = AuditLog(tmp_path / "debugdash" / "audit.log")
    debuggee: list[subprocess.Popen] = []
    hub = AttachHub(debuggee_pids=lambda: [p.pid for p in debuggee], publish=audit.record)
    await hub.start()
    relay = AttachRelay("127.0.0.1", 0, target=lambda: hub.port, allowed=lambda peer: True, publish=audit.record)
    await relay.start()
    script = tmp_path / "debuggee.py"
    script.write_text(DEBUGGEE)
    debuggee.append(subprocess.Popen([sys.executable, str(script), str(hub.port)]))
    try:
        yield relay.port, audit, debuggee[0]
    finally:
        await relay.stop()
        await hub.stop()
        debuggee[0].kill()
        debuggee[0].wait(10)


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=BIG * 2)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return reader, writer


def _request(seq: int, command: str, arguments: dict | None = None) -> bytes:
    return frame({"seq": seq, "type": "request", "command": command, "arguments": arguments or {}})


async def _answer(reader: asyncio.StreamReader) -> dict:
    header = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    length = int(header.split(b":")[1].split(b"\r\n")[0])
    return json.loads(await asyncio.wait_for(reader.readexactly(length), 30))


async def test_a_message_split_across_segments_is_one_request(attach_path) -> None:
    port, _, _ = attach_path
    reader, writer = await _connect(port)
    data = _request(1, "initialize", {"adapterID": "debugpy"})
    for piece in (data[:7], data[7:25], data[25:40], data[40:]):
        writer.write(piece)
        await writer.drain()
        await asyncio.sleep(0.05)  # each piece its own segment (TCP_NODELAY)
    answer = await _answer(reader)
    assert (answer["command"], answer["request_seq"], answer["success"]) == ("initialize", 1, True)
    writer.close()


async def test_two_messages_in_one_segment_are_two_answers(attach_path) -> None:
    port, _, _ = attach_path
    reader, writer = await _connect(port)
    writer.write(_request(1, "initialize") + _request(2, "threads"))
    await writer.drain()
    answers = [await _answer(reader), await _answer(reader)]
    assert [(a["command"], a["request_seq"]) for a in answers] == [("initialize", 1), ("threads", 2)]
    assert answers[0]["seq"] < answers[1]["seq"]
    writer.close()


async def test_a_5_mb_answer_arrives_whole(attach_path) -> None:
    port, _, _ = attach_path
    reader, writer = await _connect(port)
    writer.write(_request(1, "variables", {"variablesReference": 1}))
    await writer.drain()
    answer = await _answer(reader)
    [variable] = answer["body"]["variables"]
    assert variable["value"] == "x" * BIG
    writer.write(_request(2, "threads"))  # and the connection goes on
    assert (await _answer(reader))["request_seq"] == 2
    writer.close()


@pytest.mark.parametrize(
    "garbage",
    [b"Content-Length: many\r\n\r\n{}", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"Content-Length: 2\r\n\r\n[]", b"X" * 70000],
    ids=["length-not-a-number", "http", "not-an-object", "endless-header"],
)
async def test_a_malformed_message_closes_that_connection_with_an_audit_line(attach_path, garbage) -> None:
    port, audit, debuggee = attach_path
    other_reader, other_writer = await _connect(port)
    other_writer.write(_request(1, "initialize"))
    assert (await _answer(other_reader))["success"]

    reader, writer = await _connect(port)
    writer.write(garbage)
    await writer.drain()
    with pytest.raises((asyncio.IncompleteReadError, ConnectionResetError)):
        await asyncio.wait_for(reader.readexactly(1), 30)
    writer.close()

    for _ in range(300):
        if audit.path.exists():
            break
        await asyncio.sleep(0.05)
    [line] = audit.path.read_text().splitlines()
    fields = line.split("\t")
    assert fields[2:5] == ["refuse", "127.0.0.1", "attach"] and "not a DAP message" in fields[5]
    # Nothing else noticed: the debuggee runs, the other client is answered.
    assert debuggee.poll() is None
    other_writer.write(_request(2, "threads"))
    assert (await _answer(other_reader))["request_seq"] == 2
    other_writer.close()

