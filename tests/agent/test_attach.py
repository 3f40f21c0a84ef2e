"""debugpy on demand inside the serving process: it connects out to the port it
is given (in debugdash, the supervisor's attach hub), a real DAP session, stop."""

from __future__ import annotations

import json
import socket
import threading

from debugdash.protocol.events import Notice
from debugdash.protocol.commands import Configure, SetAttach

from tests.agent.agentkit import Server, free_port, http_get


class DapClient:
    """Just enough of the Debug Adapter Protocol to drive debugpy from a test."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.settimeout(15)
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
        # pydevd may answer ``attach`` before ``configurationDone``: look among what was read too.
        for message in self.messages:
            if message.get("type") == "response" and message.get("request_seq") == seq:
                return message
        return self.wait(lambda m: m.get("type") == "response" and m.get("request_seq") == seq)

    def event(self, name: str) -> dict:
        return self.wait(lambda m: m.get("type") == "event" and m.get("event") == name)

    def close(self) -> None:
        self.sock.close()


def _ends(sock: socket.socket) -> bool:
    """Read what is left; True at the end of the stream (a timeout fails the test)."""
    sock.settimeout(10)
    while sock.recv(1 << 20):
        pass
    return True


def _hub() -> socket.socket:
    """Where the debuggee connects to, standing in for the supervisor's attach hub."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(30)
    return listener


def _attach(server: Server, hub: socket.socket) -> DapClient:
    port = hub.getsockname()[1]
    mark = server.supervisor.mark()
    server.supervisor.send(SetAttach(port=port))
    notice = server.supervisor.wait(Notice, since=mark, timeout=30)
    # The hub's port is internal: the notice (shown to the user) names none, only that debugpy listens.
    assert notice.level == "info" and notice.message.startswith("debugpy listening through the attach relay"), notice.message
    assert str(port) not in notice.message
    return DapClient(hub.accept()[0])


def test_attach_stops_at_a_breakpoint_in_a_route_then_stops_cleanly(start_server) -> None:
    server = start_server()
    hub = _hub()
    client = _attach(server, hub)

    import debugdash.demo.app as demo

    line = next(i for i, text in enumerate(open(demo.__file__), 1) if "numerator / denominator" in text)
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

        mark = server.supervisor.mark()
        server.supervisor.send(SetAttach(port=None))
        assert server.supervisor.wait(Notice, since=mark).message == "debugpy stopped"
        assert _ends(client.sock), "the connection to the hub ends"
    finally:
        client.close()
        hub.close()
    assert http_get(server.port, "/ok").status == 200


def test_attach_with_nobody_listening_reports_and_keeps_serving(start_server) -> None:
    server = start_server()
    port = free_port()
    mark = server.supervisor.mark()
    server.supervisor.send(SetAttach(port=port))
    notice = server.supervisor.wait(Notice, since=mark, timeout=30)
    assert notice.level == "error" and str(port) in notice.message
    assert http_get(server.port, "/ok").status == 200


def test_the_debugger_connection_ends_with_the_agent_when_debugdash_goes(start_server) -> None:
    hub = _hub()
    server = start_server(configure=Configure(debugger=True, attach_port=hub.getsockname()[1]))
    server.supervisor.wait(Notice, timeout=30)
    connection = hub.accept()[0]
    server.supervisor.drop()
    assert server.proc.wait(timeout=15) == 4
    assert _ends(connection)
    connection.close()
    hub.close()


def test_a_reloaded_worker_listens_again(start_server, tmp_path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    app_file = project / "app.py"
    app_file.write_text("from flask import Flask\napp = Flask(__name__)\n")
    hub = _hub()
    attach_port = hub.getsockname()[1]
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
    first_connection = hub.accept()[0]
    mark = server.supervisor.mark()
    app_file.write_text("from flask import Flask\napp = Flask(__name__)\napp.add_url_rule('/', 'i', lambda: 'hi')\n")
    again = server.supervisor.wait(Notice, since=mark, timeout=30)
    assert again.level == "info" and again.message.startswith("debugpy listening through the attach relay"), again.message
    client = DapClient(hub.accept()[0])
    try:
        assert client.response(client.send("initialize", adapterID="debugpy"))["success"]
    finally:
        client.close()
        first_connection.close()
        hub.close()
