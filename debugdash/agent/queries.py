"""Answering the supervisor's queries (``protocol.commands.Query``).

Each query runs on a daemon thread of its own, so a slow one (an evaluation
in a failing frame) never holds up the reader thread that applies the
supervisor's other commands, nor the server's requests. Whatever a handler
raises becomes a failed ``Reply`` naming the error: a query must never take
the agent down.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from debugdash.protocol.commands import Query
from debugdash.protocol.events import Event, Reply

Handler = Callable[[Any], Reply]


class Queries:
    def __init__(self, send: Callable[[Event], None], more: Callable[[], None] | None = None) -> None:
        self._send = send
        self._handlers: dict[type[Query], Handler] = {}
        #: Registers the handlers loaded on demand; called when a query has no handler yet.
        self._more = more

    def register(self, query: type[Query], handler: Handler) -> None:
        """Answer queries of type ``query`` with ``handler(query) -> query.Reply``."""
        self._handlers[query] = handler

    def answer(self, query: Query) -> None:
        """Start answering ``query``; the reply is sent when the handler returns."""
        threading.Thread(
            target=self._run, args=(query,), name=f"debugdash-query-{query.name}", daemon=True
        ).start()

    def _run(self, query: Query) -> None:
        try:
            handler = self._handlers.get(type(query))
            if handler is None and self._more is not None:
                self._more()
                handler = self._handlers.get(type(query))
            if handler is None:
                reply = Reply(ok=False, error=f"this server's agent does not answer {query.name!r}")
            else:
                reply = handler(query)
        except Exception as e:  # noqa: BLE001 - reported to the one who asked
            reply = Reply(ok=False, error=f"{query.name} failed in the server: {type(e).__name__}: {e}")
        reply.qid = query.qid
        self._send(reply)
