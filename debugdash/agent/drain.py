"""Let a worker that reloads finish the requests it accepted, and accept no more.

Werkzeug's worker ends a reload with ``sys.exit(3)`` while its server thread
and request threads are daemons: a request accepted a moment earlier is cut
(a reset, or headers without a body). debugdash holds the listening socket, so
a connection this worker does not accept waits in the backlog for the next
worker. Before exiting, the worker therefore stops accepting and waits until no
connection is in a request: one whose request is being read or answered, whose
next request has arrived but not yet been read, or that was just accepted and
whose first request is still on its way (a client sends it right after
connecting; ``FIRST_REQUEST_GRACE`` bounds the wait for one that never does,
like a browser's preconnect). Idle keep-alive connections are not waited for;
they close with the process, and clients open a new one (the race every server
has when it closes an idle connection).

A request still running after ``DRAIN_SECONDS`` (a stream, a long poll) is cut,
as plain ``flask run`` would cut it at once.
"""

from __future__ import annotations

import select
import threading
import time
from typing import Any

DRAIN_SECONDS = 5.0
FIRST_REQUEST_GRACE = 1.0

_IDLE, _BUSY = "idle", "busy"


class Drain:
    """The connections of the servers of this process, and whether each is in a request."""

    def __init__(self) -> None:
        # The lock itself on the per-request paths (a C call); the condition only to wait and wake.
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._closing = False
        #: accept() calls under way (only ever called once select() saw a connection: they do not block).
        self._accepting = 0
        self._connections: dict[Any, str] = {}
        #: When each connection that has not yet carried a request was accepted.
        self._fresh: dict[Any, float] = {}

    def track(self, server: Any) -> None:
        """Count the connections of a socketserver-based ``server`` (Werkzeug's)."""
        get_request = server.get_request
        shutdown_request = server.shutdown_request

        def tracked_get_request() -> Any:
            # accept() gives up the GIL: holding the lock across it would stall every
            # request thread that notes a state meanwhile. An accept under way counts
            # as a request instead, so finish() still never misses the connection.
            with self._cond:
                while self._closing:
                    self._cond.wait()  # this process is about to exit: the next worker accepts it
                self._accepting += 1
            try:
                request, address = get_request()
            except BaseException:
                with self._lock:
                    self._accepting -= 1
                    self._cond.notify_all()
                raise
            with self._lock:
                self._accepting -= 1
                self._connections[request] = _IDLE
                self._fresh[request] = time.monotonic()
                if self._closing:
                    self._cond.notify_all()
            return request, address

        def tracked_shutdown_request(request: Any) -> None:
            try:
                shutdown_request(request)
            finally:
                with self._lock:
                    self._connections.pop(request, None)
                    self._fresh.pop(request, None)
                    if self._closing:
                        self._cond.notify_all()

        server.get_request = tracked_get_request
        server.shutdown_request = tracked_shutdown_request
        server.RequestHandlerClass = self._handler_class(server.RequestHandlerClass)

    def _handler_class(self, base: type) -> type:
        drain = self

        class TrackedHandler(base):  # type: ignore[misc, valid-type]
            def parse_request(self) -> bool:
                drain._mark(self.connection, _BUSY)
                return super().parse_request()

            def handle_one_request(self) -> None:
                try:
                    super().handle_one_request()
                finally:
                    if drain._closing:
                        self.close_connection = True
                    drain._mark(self.connection, _IDLE)

        TrackedHandler.__name__ = base.__name__
        TrackedHandler.__qualname__ = base.__qualname__
        return TrackedHandler

    def _mark(self, connection: Any, state: str) -> None:
        with self._lock:
            if connection in self._connections:
                self._connections[connection] = state
                self._fresh.pop(connection, None)
                # Only ``finish()`` waits, and only once closing: no wake-ups before that.
                if self._closing:
                    self._cond.notify_all()

    def finish(self, timeout: float = DRAIN_SECONDS) -> None:
        """Accept nothing more; return once no connection is in a request (or at ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._closing = True
            while self._in_request() and (left := deadline - time.monotonic()) > 0:
                # Woken by each state change; the short wait catches data that
                # arrives on an idle connection, which changes no state by itself.
                self._cond.wait(min(left, 0.01))

    def _in_request(self) -> bool:
        if self._accepting:
            return True
        poller = select.poll()
        now = time.monotonic()
        for connection, state in self._connections.items():
            accepted = self._fresh.get(connection)
            if state == _BUSY or (accepted is not None and now - accepted < FIRST_REQUEST_GRACE):
                return True
            fd = connection.fileno()
            if fd >= 0:  # -1: closed by its handler, about to be forgotten
                poller.register(fd, select.POLLIN)
        # Readable while idle: the next request (or the client's close) has
        # arrived and the handler thread is about to read it.
        return any(not mask & select.POLLNVAL for _, mask in poller.poll(0))


#: The one instance of this process: servers register with it, the reloader finishes it.
drain = Drain()
