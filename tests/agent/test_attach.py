"""debugpy on demand inside the serving process: listen, a real DAP session, stop."""

from __future__ import annotations

import json
import socket
import threading

from debugdash.agent.attach import _adapter_pids
from debugdash.core.events import Notice
from debugdash.core.wire import Configure, SetAttach

from tests.agent.agentkit import Server, free_port, http_get, wait_for


class DapClient:
    """Just enough of the Debug Adapter Protocol to drive debugpy from a test."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.reader = self.sock.makefile("rb")
        self.seq = 0
        self.messages: list[dict] = []

    def send(self, command: str, **arguments) -> int:
        self.seq += 1
        body = json.dumps({"seq": self.seq, "type": "request", "command": command, "arguments": arguments}).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self.seq

    def receive(self) -> dict:
        length = 0
        while True:
            line = self.reader.readline()
            if not line:
                raise EOFError("the adapter closed the connection")
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        message = json.loads(self.reader.read(length))
        self.messages.append(message)
        return message

    def wait(self, predicate) -> dict:
        while True:
            message = self.receive()
            if predicate(message):
                return message

    def response(self, seq: int) -> dict:
        return self.wait(lambda m: m.get("type") == "response" and m.get("request_seq") == seq)

    def event(self, name: str) -> dict:
        return self.wait(lambda m: m.get("type") == "event" and m.get("event") == name)

    def close(self) -> None:
        self.sock.close()


def _attach(server: Server, port: int) -> None:
    mark = server.supervisor.mark()
    server.supervisor.send(SetAttach(port=port))
    notice = server.supervisor.wait(Notice, since=mark, timeout=30)
    assert notice.level == "info" and f"127.0.0.1:{port}" in notice.message, notice.message


def test_attach_stops_at_a_breakpoint_in_a_route_then_stops_cleanly(start_server) -> None:
    server = start_server()
    port = free_port()
    _attach(server, port)

    import debugdash.demo.app as demo

    line = next(i for i, text in enumerate(open(demo.__file__), 1) if "numerator / denominator" in text)
    client = DapClient(port)
    try:
        assert client.response(client.send("initialize", adapterID="debugpy", clientID="test"))["success"]
        attach = client.send("attach", justMyCode=False)
        client.event("initialized")
        breakpoints = client.response(client.send("setBreakpoints", source={"path": demo.__file__}, breakpoints=[{"line": line}]))
        assert breakpoints["success"]
        assert client.response(client.send("configurationDone"))["success"]
        assert client.response(attach)["success"]

        replies: list = []
        request = threading.Thread(target=lambda: replies.append(http_get(server.port, "/divide")))
        request.start()
        stopped = client.event("stopped")
        assert stopped["body"]["reason"] == "breakpoint"
        frames = client.response(client.send("stackTrace", threadId=stopped["body"]["threadId"]))
        top = frames["body"]["stackFrames"][0]
        assert (top["source"]["path"], top["line"]) == (demo.__file__, line)
        client.send("continue", threadId=stopped["body"]["threadId"])
        request.join(timeout=15)
        assert replies and replies[0].status == 500
    finally:
        client.close()

    mark = server.supervisor.mark()
    server.supervisor.send(SetAttach(port=None))
    assert server.supervisor.wait(Notice, since=mark).message == "debugpy stopped"
    wait_for(lambda: not _adapter_pids(port), timeout=15)
    assert http_get(server.port, "/ok").status == 200


def test_attach_when_the_port_is_taken_reports_and_keeps_serving(start_server) -> None:
    server = start_server()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        mark = server.supervisor.mark()
        server.supervisor.send(SetAttach(port=port))
        notice = server.supervisor.wait(Notice, since=mark, timeout=30)
    assert notice.level == "error" and str(port) in notice.message
    assert http_get(server.port, "/ok").status == 200


def test_adapter_ends_with_the_agent_when_debugdash_goes(start_server) -> None:
    port = free_port()
    server = start_server(configure=Configure(debugger=True, attach_port=port))
    server.supervisor.wait(Notice, timeout=30)
    assert _adapter_pids(port)
    server.supervisor.drop()
    assert server.proc.wait(timeout=15) == 4
    wait_for(lambda: not _adapter_pids(port), timeout=15)


def test_a_reloaded_worker_listens_again(start_server, tmp_path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    app_file = project / "app.py"
    app_file.write_text("from flask import Flask\napp = Flask(__name__)\n")
    attach_port = free_port()
    port = free_port()
    server = start_server(
        "app",
        flask_args=["run", "--reload", "--port", str(port)],
        port=port,
        cwd=project,
        configure=Configure(debugger=False, attach_port=attach_port),
    )
    first = server.supervisor.wait(Notice, timeout=30)
    assert first.level == "info"
    mark = server.supervisor.mark()
    app_file.write_text("from flask import Flask\napp = Flask(__name__)\napp.add_url_rule('/', 'i', lambda: 'hi')\n")
    again = server.supervisor.wait(Notice, since=mark, timeout=30)
    assert again.level == "info" and f"127.0.0.1:{attach_port}" in again.message, again.message
    client = DapClient(attach_port)
    try:
        assert client.response(client.send("initialize", adapterID="debugpy"))["success"]
    finally:
        client.close()
    assert len(_adapter_pids(attach_port)) == 1
