"""The two ends the attach hub joins: pydevd in one worker, and one IDE session.

Numbers are each side's own: the hub gives every request it sends pydevd a
number of its own and maps the answer back to the asker's, and it numbers what
it sends an IDE in one unbroken sequence, so neither side sees a gap or a
repeat when a new worker's pydevd takes over the same IDE connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from debugdash.core.dap import Message, frame
from debugdash.core.dap_record import SessionConfig, Threads
from debugdash.protocol.session_events import DebugPaused


class Session:
    """One relayed IDE connection and what it configured."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.said_goodbye = False
        self.config = SessionConfig()
        self.threads = Threads()
        self.last_pause: DebugPaused | None = None
        self._seq = 0
        #: pydevd's reverse requests: the number the IDE saw -> pydevd's own.
        self._reverse: dict[int, Any] = {}

    def send(self, message: Message) -> None:
        self._seq += 1
        if message.get("type") == "request":
            self._reverse[self._seq] = message.get("seq")
        self.writer.write(frame({**message, "seq": self._seq}))

    def refuse(self, request: Message, why: str) -> None:
        if request.get("type") != "request":
            return
        self.send(
            {"type": "response", "request_seq": request.get("seq"), "success": False, "command": request.get("command"), "message": why}
        )

    def unanswered(self, request: Message, why: str) -> None:
        """``request`` went to a worker that went away before answering."""
        if request.get("command") == "disconnect":
            # Letting go of a worker that has gone is done: an IDE that quits
            # during a reload must not be told its disconnect failed.
            self.send({"type": "response", "request_seq": request.get("seq"), "success": True, "command": "disconnect"})
        else:
            self.refuse(request, why)

    def reverse_seq(self, response: Message) -> Message:
        """An IDE's answer to a reverse request, under pydevd's number."""
        return {**response, "request_seq": self._reverse.pop(response.get("request_seq"), response.get("request_seq"))}


class Debuggee:
    """One worker's pydevd connection and the requests in flight on it."""

    def __init__(self, pid: int, writer: asyncio.StreamWriter) -> None:
        self.pid = pid
        self.writer = writer
        self.gone = asyncio.Event()
        #: Set once the attached IDE's configuration was replayed (or there was none).
        self.ready = asyncio.Event()
        self.replaying = False
        self._seq = 0
        #: Our number -> (the asking session, its request) or the hub's own waiting future.
        self._pending: dict[int, tuple[Session, Message] | asyncio.Future[Message]] = {}

    def _write(self, message: Message) -> int:
        self._seq += 1
        self.writer.write(frame({**message, "seq": self._seq}))
        return self._seq

    def forward(self, session: Session, message: Message) -> None:
        if message.get("type") == "response":
            self._write(session.reverse_seq(message))
            return
        self._pending[self._write(message)] = (session, message)

    async def ask(self, command: str, arguments: dict[str, Any] | None, timeout: float) -> Message:
        """The hub's own request; pydevd's response (RuntimeError when the worker went away)."""
        request: Message = {"type": "request", "command": command}
        if arguments is not None:
            request["arguments"] = arguments
        answer: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[self._write(request)] = answer
        return await asyncio.wait_for(answer, timeout)

    def answered(self, response: Message) -> tuple[Session, Message] | None:
        """Who asked: the session and its request (``response`` now carries its number), or None."""
        asked = self._pending.pop(response.get("request_seq"), None)  # type: ignore[arg-type]
        if isinstance(asked, asyncio.Future):
            if not asked.done():
                asked.set_result(response)
            return None
        if asked is None:
            return None
        session, request = asked
        response["request_seq"] = request.get("seq")
        return session, request

    def fail_pending(self, why: str) -> None:
        """Answer every open request: this worker will not."""
        pending, self._pending = self._pending, {}
        for asked in pending.values():
            if isinstance(asked, asyncio.Future):
                if not asked.done():
                    asked.set_exception(RuntimeError(why))
            else:
                asked[0].unanswered(asked[1], why)

    def say_goodbye(self) -> None:
        """Disconnect on behalf of an IDE that left without: paused threads run on."""
        with contextlib.suppress(OSError, RuntimeError):
            self._write({"type": "request", "command": "disconnect", "arguments": {"restart": False, "terminateDebuggee": False}})
