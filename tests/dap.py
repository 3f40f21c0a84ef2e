"""A minimal Debug Adapter Protocol client for tests: blocking sockets, no dependencies.

Messages are JSON bodies framed by a ``Content-Length`` header. Events arrive
interleaved with responses at any time; everything read while waiting for one
thing is kept, so a later ``wait_event`` finds an event that came early.

debugpy answers ``attach`` only after ``configurationDone``, so attaching is:
send ``attach`` without waiting, wait for ``initialized``, set breakpoints, send
``configurationDone``, then collect the ``attach`` response. ``attach()`` does
exactly that.

The requests have the shapes VS Code sends (Python Debugger extension, an
``attach`` configuration with ``connect``): ``initialize`` with VS Code's client
arguments; ``attach`` with ``connect``, ``pathMappings`` and ``justMyCode``; then
``setBreakpoints`` per file, ``setFunctionBreakpoints`` and
``setExceptionBreakpoints`` even when empty, and ``configurationDone``.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from typing import Any

Message = dict[str, Any]


class DapError(Exception):
    """The adapter answered a request with ``success: false``."""

    def __init__(self, command: str, message: str, body: Any = None) -> None:
        super().__init__(f"{command}: {message}")
        self.command = command
        self.body = body


class DapClosed(ConnectionError):
    """The other side closed the connection."""


class DapClient:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = b""
        self._seq = 0
        #: Messages read but not yet claimed by a wait: events, responses, reverse requests.
        self._pending: list[Message] = []
        #: Every event received, in order, claimed or not.
        self.events: list[Message] = []
        self.closed_by_peer = False

    @classmethod
    def connect(
        cls, host: str, port: int, source_address: tuple[str, int] | None = None, timeout: float = 20.0
    ) -> DapClient:
        """Connect over TCP, optionally from ``source_address`` (e.g. ("127.0.0.2", 0))."""
        sock = socket.create_connection((host, port), timeout=timeout, source_address=source_address)
        return cls(sock)

    def __enter__(self) -> DapClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    # --- requests ------------------------------------------------------------

    def send_request(self, command: str, arguments: dict[str, Any] | None = None) -> int:
        """Send a request without waiting; return its ``seq`` for ``wait_response``."""
        self._seq += 1
        message: Message = {"seq": self._seq, "type": "request", "command": command}
        if arguments is not None:
            message["arguments"] = arguments
        self._send(message)
        return self._seq

    def wait_response(self, seq: int, timeout: float = 20.0) -> dict[str, Any]:
        """The body of the response to request ``seq``; DapError if it failed."""
        response = self._wait(lambda m: m.get("type") == "response" and m.get("request_seq") == seq, timeout)
        if not response.get("success", False):
            raise DapError(response.get("command", "?"), response.get("message", "failed"), response.get("body"))
        return response.get("body") or {}

    def request(self, command: str, arguments: dict[str, Any] | None = None, timeout: float = 20.0) -> dict[str, Any]:
        """Send a request and return the body of its response; DapError if it failed."""
        return self.wait_response(self.send_request(command, arguments), timeout)

    def wait_event(
        self, name: str, timeout: float = 20.0, predicate: Callable[[Message], bool] | None = None
    ) -> Message:
        """The first unclaimed event called ``name`` (and matching ``predicate``), waiting for it."""
        return self._wait(
            lambda m: m.get("type") == "event" and m.get("event") == name and (predicate is None or predicate(m)),
            timeout,
        )

    # --- the usual conversations -------------------------------------------------

    def initialize(self, timeout: float = 20.0) -> dict[str, Any]:
        """Send ``initialize``; return the adapter's capabilities."""
        return self.request(
            "initialize",
            {
                "clientID": "vscode",
                "clientName": "Visual Studio Code",
                "adapterID": "debugpy",
                "pathFormat": "path",
                "linesStartAt1": True,
                "columnsStartAt1": True,
                "supportsVariableType": True,
                "supportsVariablePaging": True,
                "supportsRunInTerminalRequest": True,
                "locale": "en",
                "supportsProgressReporting": True,
                "supportsInvalidatedEvent": True,
                "supportsMemoryReferences": True,
                "supportsArgsCanBeInterpretedByShell": True,
                "supportsMemoryEvent": True,
                "supportsStartDebuggingRequest": True,
            },
            timeout,
        )

    def attach_arguments(self, root: str, **extra: Any) -> dict[str, Any]:
        """What VS Code sends for the launch.json entry debugdash suggests (``root`` is the workspace)."""
        host, port = self.sock.getpeername()[:2]
        return {
            "name": "Attach to app (debugdash)",
            "type": "debugpy",
            "request": "attach",
            "connect": {"host": host, "port": port},
            "pathMappings": [{"localRoot": root, "remoteRoot": root}],
            "justMyCode": True,
            "clientOS": "unix",
            "workspaceFolder": root,
            "__sessionId": "0c6d8a4e-debugdash-tests",
            **extra,
        }

    def attach(
        self,
        breakpoints: dict[str, list[int]] | None = None,
        arguments: dict[str, Any] | None = None,
        timeout: float = 20.0,
        exception_filters: list[str] | None = None,
    ) -> dict[str, list[Message]]:
        """Attach, set ``breakpoints`` ({file: [lines]}) and finish configuration.

        Returns the breakpoints as the adapter reported them, per file.
        """
        root = os.path.dirname(next(iter(breakpoints))) if breakpoints else os.getcwd()
        attach_seq = self.send_request("attach", {**self.attach_arguments(root), **(arguments or {})})
        # An early attach response is a refusal (e.g. "already being debugged"): raise it, do not hang.
        early = self._wait(
            lambda m: (m.get("type") == "event" and m.get("event") == "initialized")
            or (m.get("type") == "response" and m.get("request_seq") == attach_seq),
            timeout,
        )
        if early.get("type") == "response":
            self._pending.insert(0, early)
            self.wait_response(attach_seq, 0)
            raise DapError("attach", "answered before configuration", early.get("body"))
        reported = {}
        for path, lines in (breakpoints or {}).items():
            body = self.request(
                "setBreakpoints",
                {"source": {"path": path}, "breakpoints": [{"line": line} for line in lines]},
                timeout,
            )
            reported[path] = body.get("breakpoints", [])
        self.request("setFunctionBreakpoints", {"breakpoints": []}, timeout)
        self.request("setExceptionBreakpoints", {"filters": exception_filters or []}, timeout)
        self.request("configurationDone", None, timeout)
        self.wait_response(attach_seq, timeout)
        return reported

    def evaluate(self, expression: str, frame_id: int, timeout: float = 20.0) -> str:
        """``expression`` evaluated in a stopped frame, as the debug console shows it."""
        return self.request("evaluate", {"expression": expression, "frameId": frame_id, "context": "repl"}, timeout)["result"]

    def top_frame(self, thread_id: int, timeout: float = 20.0) -> Message:
        """The innermost stack frame of a stopped thread."""
        frames = self.request("stackTrace", {"threadId": thread_id, "levels": 1}, timeout)["stackFrames"]
        return frames[0]

    def wait_closed(self, timeout: float = 15.0) -> bool:
        """Read (keeping what arrives) until the other side closes; False if it did not in time."""
        try:
            self._wait(lambda m: False, timeout)
        except DapClosed:
            return True
        except TimeoutError:
            return False
        return False

    # --- framing --------------------------------------------------------------

    def _send(self, message: Message) -> None:
        body = json.dumps(message).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def _wait(self, wanted: Callable[[Message], bool], timeout: float) -> Message:
        deadline = time.monotonic() + timeout
        while True:
            for i, message in enumerate(self._pending):
                if wanted(message):
                    return self._pending.pop(i)
            try:
                self._pending.append(self._read_message(deadline))
            except TimeoutError:
                unclaimed = [m.get("event") or m.get("command") for m in self._pending]
                raise TimeoutError(f"no such DAP message within {timeout} s; unclaimed: {unclaimed}") from None

    def _read_message(self, deadline: float) -> Message:
        while True:
            header_end = self._buffer.find(b"\r\n\r\n")
            if header_end >= 0:
                length = _content_length(self._buffer[:header_end])
                start = header_end + 4
                if len(self._buffer) >= start + length:
                    body, self._buffer = self._buffer[start : start + length], self._buffer[start + length :]
                    message = json.loads(body)
                    self._on_message(message)
                    return message
            self._fill(deadline)

    def _fill(self, deadline: float) -> None:
        if self.closed_by_peer:
            raise DapClosed("connection closed by the other side")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no DAP message in time")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("no DAP message in time") from None
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed_by_peer = True
            raise DapClosed("connection closed by the other side")
        self._buffer += data

    def _on_message(self, message: Message) -> None:
        if message.get("type") == "event":
            self.events.append(message)
        elif message.get("type") == "request":
            # A reverse request (e.g. runInTerminal); this client supports none of them.
            self._seq += 1
            self._send(
                {
                    "seq": self._seq,
                    "type": "response",
                    "request_seq": message.get("seq"),
                    "command": message.get("command"),
                    "success": False,
                    "message": "not supported by the test client",
                }
            )


def _content_length(header: bytes) -> int:
    for line in header.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    raise ValueError(f"DAP header without Content-Length: {header!r}")
