"""What an IDE told the debuggee, kept so that the next worker can be told the same.

``SessionConfig`` records one attached IDE's configuration from the requests it
sends and the answers it gets: ``initialize`` and ``attach`` arguments, the
breakpoints of each source, function and exception breakpoints, and whether
``configurationDone`` was sent. ``replay()`` lists the requests that put a new
pydevd in the same state. Breakpoint ids are the one thing a new pydevd numbers
differently: the ids the IDE knows are kept, and ``ide_breakpoint`` translates.

``Threads`` follows which threads exist and which are stopped, from the events
and answers that pass, so the hub can tell the IDE the old worker's threads
ended and the supervisor can hold a reload while one is stopped.
"""

from __future__ import annotations

from typing import Any

from debugdash.protocol.records import dataclass, field  # dataclasses.dataclass, cheaper to create

Message = dict[str, Any]

#: Requests that put the debuggee in a state a new worker must be given too, in replay order.
_BREAKPOINT_COMMANDS = ("setFunctionBreakpoints", "setExceptionBreakpoints")
#: Requests that let a stopped thread run.
_RESUMING = frozenset({"continue", "next", "stepIn", "stepOut", "stepBack", "reverseContinue", "goto"})


def _source_key(arguments: dict[str, Any]) -> str:
    source = arguments.get("source")
    if not isinstance(source, dict):
        return ""
    return str(source.get("path") or source.get("name") or source.get("sourceReference") or "")


def _body(message: Message) -> dict[str, Any]:
    body = message.get("body")
    return body if isinstance(body, dict) else {}


@dataclass
class SessionConfig:
    initialize: dict[str, Any] | None = None
    attach: tuple[str, dict[str, Any]] | None = None  # ("attach" or "launch", arguments)
    #: setBreakpoints arguments per source, in the order the sources were first set.
    breakpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The breakpoints (with the ids the IDE knows) last reported for each source.
    reported: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    other: dict[str, dict[str, Any]] = field(default_factory=dict)  # setFunction/ExceptionBreakpoints
    configured: bool = False
    #: A replayed breakpoint's id in the current pydevd -> the id the IDE knows.
    _ids: dict[int, int] = field(default_factory=dict)

    def on_request(self, request: Message) -> None:
        command = request.get("command")
        arguments = request.get("arguments") or {}
        if not isinstance(arguments, dict):
            return
        if command == "initialize":
            self.initialize = arguments
        elif command in ("attach", "launch"):
            self.attach = (command, arguments)
        elif command == "setBreakpoints":
            self.breakpoints[_source_key(arguments)] = arguments
        elif command in _BREAKPOINT_COMMANDS:
            self.other[command] = arguments
        elif command == "configurationDone":
            self.configured = True

    def on_response(self, request: Message, response: Message) -> None:
        if request.get("command") != "setBreakpoints" or not response.get("success"):
            return
        key = _source_key(request.get("arguments") or {})
        reported = _body(response).get("breakpoints") or []
        # The IDE now knows this pydevd's ids for the source: no translation for them.
        for old in self.reported.get(key, []):
            self._ids = {new: ide for new, ide in self._ids.items() if ide != old.get("id")}
        self.reported[key] = [dict(b) for b in reported if isinstance(b, dict)]

    def replay(self) -> list[tuple[str, dict[str, Any] | None]]:
        """The requests, in order, that configure a fresh pydevd as this IDE configured the last one."""
        if self.attach is None:
            return []
        requests: list[tuple[str, dict[str, Any] | None]] = [("initialize", self.initialize or {})]
        requests.append(self.attach)
        requests += [("setBreakpoints", arguments) for arguments in self.breakpoints.values()]
        requests += [(command, self.other[command]) for command in _BREAKPOINT_COMMANDS if command in self.other]
        if self.configured:
            requests.append(("configurationDone", None))
        return requests

    def rebind(self, arguments: dict[str, Any], response: Message) -> list[Message]:
        """After replaying one setBreakpoints: ``breakpoint`` events for what changed, in the IDE's ids."""
        key = _source_key(arguments)
        known = self.reported.get(key, [])
        fresh = _body(response).get("breakpoints") or [] if response.get("success") else []
        events = []
        for old, new in zip(known, fresh):
            if not isinstance(new, dict):
                continue
            if isinstance(new.get("id"), int) and isinstance(old.get("id"), int):
                self._ids[new["id"]] = old["id"]
            changed = {k: new[k] for k in ("verified", "line", "message") if k in new and new.get(k) != old.get(k)}
            if changed:
                old.update(changed)
                events.append(
                    {"type": "event", "event": "breakpoint", "body": {"reason": "changed", "breakpoint": dict(old)}}
                )
        return events

    def ide_breakpoint(self, event: Message) -> Message:
        """A ``breakpoint`` event from pydevd with its id as the IDE knows it."""
        body = _body(event)
        breakpoint = body.get("breakpoint")
        if isinstance(breakpoint, dict) and breakpoint.get("id") in self._ids:
            breakpoint = {**breakpoint, "id": self._ids[breakpoint["id"]]}
            event = {**event, "body": {**body, "breakpoint": breakpoint}}
        return event


@dataclass
class Threads:
    """The debuggee's threads as the IDE has heard of them, and which are stopped."""

    known: set[int] = field(default_factory=set)
    stopped: dict[int, Message] = field(default_factory=dict)  # thread id -> the stopped event's body

    @property
    def paused(self) -> bool:
        return bool(self.stopped)

    def on_event(self, event: Message) -> None:
        body = _body(event)
        name, thread = event.get("event"), body.get("threadId")
        if name == "stopped":
            if isinstance(thread, int):
                self.known.add(thread)
                self.stopped[thread] = body
        elif name == "continued":
            self._resumed(thread, bool(body.get("allThreadsContinued")))
        elif name == "thread" and isinstance(thread, int):
            if body.get("reason") == "exited":
                self.known.discard(thread)
                self.stopped.pop(thread, None)
            else:
                self.known.add(thread)

    def on_request(self, request: Message) -> None:
        if request.get("command") in _RESUMING:
            arguments = request.get("arguments") or {}
            self._resumed(arguments.get("threadId") if isinstance(arguments, dict) else None, False)

    def on_response(self, request: Message, response: Message) -> None:
        body = _body(response)
        if not response.get("success"):
            return
        if request.get("command") == "threads":
            self.known.update(t["id"] for t in body.get("threads") or [] if isinstance(t, dict) and isinstance(t.get("id"), int))
        elif request.get("command") == "continue" and body.get("allThreadsContinued", True):
            self.stopped.clear()

    def _resumed(self, thread: Any, everything: bool) -> None:
        if everything or thread is None:
            self.stopped.clear()
        else:
            self.stopped.pop(thread, None)

    def goodbye(self) -> list[Message]:
        """Events that tell the IDE every thread of a debuggee that went away has ended."""
        events: list[Message] = []
        if self.stopped:
            events.append({"type": "event", "event": "continued", "body": {"threadId": next(iter(self.stopped)), "allThreadsContinued": True}})
        events += [{"type": "event", "event": "thread", "body": {"reason": "exited", "threadId": t}} for t in sorted(self.known)]
        self.known.clear()
        self.stopped.clear()
        return events
