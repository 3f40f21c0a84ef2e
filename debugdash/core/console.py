"""The session's side of the console (issue 13): error groups with their occurrence ids,
and evaluations in kept frames, asked of the serving process's agent.

Reached by the dashboard's ``i`` and by `debugdash errors/eval` through the
same-uid control socket: never from the network. Every evaluation that ran is
published as an ``Evaluated`` event (the audit log writes it), its code
redacted by the name rule set of ``protocol.redact``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from debugdash.core.agent_hub import AgentQueryError
from debugdash.core.audit import current_user
from debugdash.core.errors import UserInputError
from debugdash.core.state import ErrorGroup
from debugdash.protocol import commands as wire
from debugdash.protocol.console import (
    CompleteQuery,
    Completions,
    ErrorGroupInfo,
    EvalQuery,
    EvalResult,
    Evaluation,
    FramesHeld,
    FramesHeldQuery,
    Interrupted,
    InterruptQuery,
)
from debugdash.protocol.events import Event, Reply
from debugdash.protocol.session_events import Evaluated
from debugdash.protocol.redact import redact_assignments

Ask = Callable[..., Awaitable[Reply]]

#: How long the session waits for an evaluation without a timeout of its own (the
#: dashboard's): an hour of a runaway loop is for Ctrl-C to end, not for us.
NO_TIMEOUT_WAIT = 3600.0
#: The answer of quick questions (completion, interrupt, frames held).
QUICK = 10.0


def group_id(key: tuple[str, str, int]) -> str:
    """A short id for an error group, stable across sessions for the same type and place."""
    return hashlib.sha1("\0".join(map(str, key)).encode("utf-8", "replace")).hexdigest()[:8]


class ConsoleAccess:
    def __init__(
        self,
        *,
        ask: Ask,
        groups: Callable[[], list[ErrorGroup]],
        publish: Callable[[Event], None],
        send: Callable[[wire.Command], None],
    ) -> None:
        self._ask = ask
        self._groups = groups
        self._publish = publish
        self._send = send

    async def error_groups(self) -> list[ErrorGroupInfo]:
        """The session's error groups, newest first, each saying whether its newest occurrence holds frames."""
        groups = self._groups()
        held: set[str] = set()
        if groups:
            try:
                reply = await self._ask(FramesHeldQuery(), timeout=QUICK)
                assert isinstance(reply, FramesHeld)
                held = set(reply.occurrences)
            except AgentQueryError:
                pass  # no server to ask: nothing holds frames
        return [_info(group, held) for group in groups]

    async def send_newest(self, key: tuple[str, str, int], timeout: float = 5.0) -> bool:
        """Have the serving process send the error group's newest occurrence whole now (issue 16).

        When this returns, the session state holds it (the event travels ahead of
        the reply); True when one was waiting to be sent. Raises AgentQueryError
        when no server answers.
        """
        query = wire.SendNewestError(exception_type=key[0], filename=key[1], lineno=key[2])
        reply = await self._ask(query, timeout=timeout)
        return bool(getattr(reply, "sent", False))

    async def evaluate(
        self, occurrence: str, code: str, *, frame: int | None = None, link: int = -1, timeout: float = 0.0, user: str | None = None
    ) -> EvalResult:
        """Run ``code`` in that frame's console; UserInputError (one line) when it cannot run there."""
        if not code.strip():
            raise UserInputError("nothing to evaluate; give the code after --, e.g. debugdash eval ID -- \"order['total']\"")
        query = EvalQuery(occurrence=occurrence, code=code, frame=frame, link=link, timeout=timeout)
        wait = timeout + QUICK if timeout > 0 else NO_TIMEOUT_WAIT
        reply = await self._query(query, wait)
        assert isinstance(reply, Evaluation)
        where = f"{reply.filename}:{reply.lineno} in {reply.function}"
        self._publish(
            Evaluated(
                user=user or current_user(), occurrence=occurrence, error=reply.exception,
                frame=f"frame {reply.frame}: {where}", code=redact_assignments(code), raised=reply.raised,
            )
        )
        return EvalResult(
            occurrence=occurrence, link=reply.link, frame=reply.frame, where=where,
            output=reply.output, value=reply.value, raised=reply.raised, traceback=reply.traceback,
        )

    async def complete(self, occurrence: str, text: str, *, frame: int | None = None, link: int = -1) -> list[str]:
        reply = await self._query(CompleteQuery(occurrence=occurrence, text=text, frame=frame, link=link), QUICK)
        assert isinstance(reply, Completions)
        return reply.matches

    async def interrupt(self, occurrence: str, *, frame: int | None = None, link: int = -1) -> bool:
        reply = await self._query(InterruptQuery(occurrence=occurrence, frame=frame, link=link), QUICK)
        assert isinstance(reply, Interrupted)
        return reply.interrupted

    def release(self, key: tuple[str, str, int] | None) -> None:
        """The user cleared an error group (all of them with None): the server lets go of their frames."""
        if key is None:
            self._send(wire.ReleaseFrames(all=True))
        else:
            self._send(wire.ReleaseFrames(groups=[list(key)]))

    async def _query(self, query: wire.Query, timeout: float) -> Reply:
        try:
            return await self._ask(query, timeout=timeout)
        except AgentQueryError as e:
            raise UserInputError(str(e)) from None


def _info(group: ErrorGroup, held: set[str]) -> ErrorGroupInfo:
    latest = group.latest
    message = latest.chain[-1].message.strip().splitlines() if latest.chain else []
    return ErrorGroupInfo(
        id=group_id(group.key),
        type=group.type,
        message=message[0][:300] if message else "",
        location=group.location,
        count=group.count,
        first_seen=group.first_seen,
        last_seen=group.last_seen,
        occurrence=latest.occurrence,
        frames_held=bool(latest.occurrence) and latest.occurrence in held,
        request=f"{latest.method} {latest.path}",
        frames=[
            f"{number} {frame.filename}:{frame.lineno} in {frame.function}"
            for number, frame in enumerate(latest.exception.frames if latest.chain else [])
            if frame.is_app
        ],
    )
