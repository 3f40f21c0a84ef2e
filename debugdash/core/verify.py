"""Verify on reload: after a reload, replay each open error group's failing request once.

Only a group whose last failing request was a GET or HEAD from this machine is
replayed (never another method: it could change data), and only when the
supervisor still holds that request. The outcome is a ``verified`` event: the
group shows ``fixed ✓`` when the replay did not raise (and got no 5xx), or
``still failing`` with the replay's new traceback.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from debugdash.core.errors import UserInputError
from debugdash.core.replay import ReplayResult
from debugdash.core.state import ErrorGroup
from debugdash.protocol.addresses import is_local, parse_peer
from debugdash.protocol.events import Event, Ready, Reload
from debugdash.protocol.request_events import Verified, VerifyOnReload
from debugdash.protocol.requests import CapturedRequest

VERIFIED_METHODS = ("GET", "HEAD")
#: Seconds within which a ``ready`` reported before its ``reload`` still pairs with it.
PAIRING_WINDOW = 5.0


class Verifier:
    def __init__(
        self,
        *,
        groups: Callable[[], list[ErrorGroup]],
        captured: Callable[[int], CapturedRequest | None],
        replay: Callable[[int], Awaitable[ReplayResult]],
        publish: Callable[[Event], None],
        on: bool = True,
    ) -> None:
        self._groups = groups
        self._captured = captured
        self._replay = replay
        self._publish = publish
        self.on = on
        self._reloaded = False
        #: A ``ready`` seen with no reload before it: the reload's report may still come.
        self._early_ready: Ready | None = None

    def due(self, event: Event) -> bool:
        """True when the server that follows a reload is ready: time to verify.

        The old worker reports the reload and the new one its readiness, each on
        its own connection: a warm spare or a fork can be ready before the reload
        is reported. So either order counts, when the two are close in time.
        """
        if isinstance(event, Reload):
            early = self._early_ready
            self._early_ready = None
            if early is not None and early.pid != event.pid and abs(event.time - early.time) <= PAIRING_WINDOW:
                return True
            self._reloaded = True
        elif isinstance(event, Ready):
            if self._reloaded:
                self._reloaded = False
                return True
            self._early_ready = event
        return False

    def candidates(self) -> list[tuple[ErrorGroup, int]]:
        """The open groups to replay now, each with the request to replay."""
        found = []
        for group in self._groups():
            if group.fixed:
                continue
            request_id = group.latest.request_id
            request = self._captured(request_id) if request_id else None
            if request is None or request.method.upper() not in VERIFIED_METHODS:
                continue
            if not is_local(parse_peer(request.remote_addr)):
                continue
            found.append((group, request_id))
        return found

    def set(self, on: bool) -> None:
        """Switch verify-on-reload (``v``); publishes ``verify_on_reload`` when it changes."""
        if on != self.on:
            self.on = on
            self._publish(VerifyOnReload(on=on))

    async def after_reload(self) -> list[Verified]:
        """Replay the candidates, one at a time, and publish how each went."""
        if not self.on:
            return []
        outcomes = []
        for group, request_id in self.candidates():
            error_type, filename, lineno = group.key
            try:
                result = await self._replay(request_id)
            except UserInputError as e:
                event = Verified(error_type=error_type, filename=filename, lineno=lineno,
                                 request_id=request_id, fixed=False, message=str(e))
            else:
                event = Verified(
                    error_type=error_type,
                    filename=filename,
                    lineno=lineno,
                    request_id=request_id,
                    replay_id=result.replay_id,
                    fixed=not result.raised and not result.failed,
                    status=result.status,
                    message=result.message,
                )
            self._publish(event)
            outcomes.append(event)
        return outcomes
