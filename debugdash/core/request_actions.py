"""What a face can do with a request: see it, copy it as curl, send it again.

The supervisor's faces (dashboard keys, control socket, verify-on-reload) all
come here. A failed request is in the supervisor's memory; one that succeeded
is still in its worker's ring and is fetched from there (``fetch``) when a face
asks for it. Everything shown is redacted unless revealed; the replay alone
sends the real values.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial

from debugdash.core.errors import UserInputError
from debugdash.core.replay import ReplayResult, curl_command, new_mark, send
from debugdash.core.requests import SAFE_METHODS, RequestDetail, RequestStore
from debugdash.protocol.events import Event, Ready, RequestError, RequestErrorRepeat
from debugdash.protocol.request_events import ROW_REPLAY, RequestRecord, record_of
from debugdash.protocol.requests import CapturedRequest, RequestBatch
from debugdash.protocol.text import neutralise

#: How long a replay waits for its own record after the response (records come in batches).
RECORD_WAIT = 5.0

#: Asks the worker ``pid`` for its request number ``n``; None when it no longer has it.
Fetch = Callable[[int, int], Awaitable[CapturedRequest | None]]


class RequestActions:
    def __init__(self, store: RequestStore, *, ready: Callable[[], Ready | None], fetch: Fetch | None = None) -> None:
        self.store = store
        self._ready = ready
        self._fetch = fetch
        self._waiting: dict[str, asyncio.Future[RequestRecord]] = {}

    def take_batch(self, batch: RequestBatch) -> list[Event]:
        """Keep what an agent's batch brings; its records, numbered for the session, as one event to publish."""
        records = self.store.take_batch(batch)
        if self._waiting:
            for row in records.rows:
                if row[ROW_REPLAY]:
                    future = self._waiting.pop(row[ROW_REPLAY], None)
                    if future is not None and not future.done():
                        future.set_result(record_of(row))
        return [records]

    def take_event(self, event: Event) -> bool:
        """Before an agent's event is published: a traceback (or a repeat of one) gets the
        session's number of its request. True when the event was renumbered."""
        if isinstance(event, RequestError) and event.request_id:
            self.store.take_error(event)
            return True
        if isinstance(event, RequestErrorRepeat) and event.request_id:
            event.request_id = self.store.session_id(event.pid, event.request_id)
            return True
        return False

    async def full_request(self, request_id: int) -> CapturedRequest:
        """The request with its real values; UserInputError naming why when it is not kept."""
        captured = self.store.captured(request_id)
        if captured is not None:
            return captured
        key = self.store.agent_key(request_id)
        if key is None:
            raise UserInputError(f"no request {request_id} in this session; `debugdash requests` lists them")
        if self._fetch is not None:
            captured = await self._fetch(*key)
            if captured is not None:
                captured.id = request_id
                self.store.keep(captured)  # selected once, kept: it may be replayed next
                return captured
        raise UserInputError(
            f"request {request_id} is no longer kept: the server that answered it reloaded or served many since"
        )

    async def detail(self, request_id: int, *, reveal: bool = False) -> RequestDetail:
        """Headers, body, record and traceback of a request, redacted unless ``reveal``."""
        return self.store.detail(request_id, await self.full_request(request_id), reveal=reveal)

    async def curl(self, request_id: int, *, reveal: bool = False) -> str:
        """A curl command that sends the request again (secret values redacted unless ``reveal``)."""
        detail = await self.detail(request_id, reveal=reveal)
        # The body came from the network as bytes: what reaches a terminal or a clipboard is neutralised.
        return neutralise(curl_command(detail.request, self._base_url()), multiline=True)

    def needs_confirmation(self, request_id: int) -> bool:
        """True unless the request is a GET, HEAD or OPTIONS (a replay could change data)."""
        record = self.store.record(request_id)
        captured = self.store.captured(request_id)
        method = captured.method if captured else record.method if record else ""
        return method.upper() not in SAFE_METHODS

    async def replay(self, request_id: int, *, confirmed: bool = False) -> ReplayResult:
        """Send the request again from this machine with its real values; the result.

        A method other than GET, HEAD and OPTIONS is sent only ``confirmed``
        (UserInputError otherwise); so is nothing while no server is ready.
        """
        request = await self.full_request(request_id)
        if request.method.upper() not in SAFE_METHODS and not confirmed:
            raise UserInputError(
                f"request {request_id} is a {request.method}: replaying it may change data; add --yes to send it again"
            )
        host, port, https = self._target()
        mark = new_mark()
        loop = asyncio.get_running_loop()
        arrived: asyncio.Future[RequestRecord] = loop.create_future()
        self._waiting[mark] = arrived
        try:
            status, reason, size, seconds, error = await asyncio.to_thread(
                partial(send, request, host, port, mark, https=https)
            )
            record = None
            if status:
                try:
                    record = await asyncio.wait_for(asyncio.shield(arrived), RECORD_WAIT)
                except asyncio.TimeoutError:
                    record = None
        finally:
            self._waiting.pop(mark, None)
        return ReplayResult(
            id=request_id,
            status=status,
            reason=reason,
            duration=record.duration if record else seconds,
            size=size,
            replay_id=record.id if record else 0,
            raised=bool(record and record.error),
            message=error,
        )

    def _target(self) -> tuple[str, int, bool]:
        ready = self._ready()
        if ready is None or not ready.port:
            raise UserInputError("the server is not ready; replay when it runs again (`debugdash status` shows it)")
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(ready.host, ready.host)
        return host, ready.port, ready.url.startswith("https:")

    def _base_url(self) -> str:
        ready = self._ready()
        return ready.url if ready is not None else "http://127.0.0.1:5000"
