"""The debugger gate: which requests reach Werkzeug's interactive debugger.

One shared ``DebuggedApplication`` per process sits behind a per-request check
of the socket peer (``REMOTE_ADDR`` only; forwarding headers never count). The
gate is open for a peer when the debugger toggle is on and the peer is local
(127.0.0.1 or ::1 *and* its socket belongs to debugdash's Unix user: any user
of the machine can connect from loopback) or holds an unexpired "debugger"
grant; deadlines are checked
on every request with this process's clock, so a stalled supervisor can never
extend access. Closed requests go to the plain app: errors become Werkzeug's
plain 500 and ``/console`` is the app's own 404.
"""

from __future__ import annotations

import os
import sys
import weakref
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from debugdash.agent.debugged import DEFAULT_TRUSTED_HOSTS, debugger_class
from debugdash.agent.tracebacks import drop_own_frame
from debugdash.protocol.addresses import granted, is_local, parse_peer
from debugdash.protocol.clock import Clock, system_clock
from debugdash.protocol.events import AccessRefused, Event, Gate as GateEvent
from debugdash.protocol.peers import owner_uid, peer_uid
from debugdash.protocol.commands import WireGrant, fresh_pin, fresh_pin_cookie

CONSOLE_PATH = "/console"


class DebuggerGate:
    """The live debugger switch and allowlist of this process, and the WSGI middleware using them."""

    def __init__(
        self,
        *,
        debugger: bool,
        grants: Iterable[WireGrant] = (),
        trusted_hosts: Iterable[str] = (),
        emit: Callable[[Event], None] = lambda event: None,
        clock: Clock | None = None,
        owner: int | None = None,
        pin: str = "",
        pin_cookie: str = "",
    ) -> None:
        self.debugger = bool(debugger)
        #: The Unix user whose loopback connections count as local.
        self.owner = owner_uid() if owner is None else owner
        self.grants: tuple[WireGrant, ...] = tuple(grants)
        self.trusted_hosts = list(trusted_hosts)
        #: The session's PIN and cookie name, the same in every worker of the session.
        self.pin = pin or fresh_pin()
        self._pin_cookie = pin_cookie or fresh_pin_cookie()
        self._emit = emit
        self._clock = clock or system_clock()
        self._debugged: Any = None  # the one DebuggedApplication of this process

    # --- commands -------------------------------------------------------------

    def set_debugger(self, on: bool) -> None:
        """Turn the debugger on or off for every later request; emits ``gate`` on a change."""
        on = bool(on)
        if on != self.debugger:
            self.debugger = on
            self._emit(GateEvent(debugger=on, pid=os.getpid()))

    def set_grants(self, grants: Iterable[WireGrant], rotate: bool = False, pin: str = "", pin_cookie: str = "") -> None:
        """Replace the allowlist; ``rotate`` also forgets every traceback and console,
        and takes the new ``pin`` (and cookie name) when given."""
        self.grants = tuple(grants)
        if rotate:
            self.rotate()
        if pin and pin != self.pin:
            self.pin = pin
            self._pin_cookie = pin_cookie or fresh_pin_cookie()
            if self._debugged is not None:
                self._debugged._pin_cookie = self._pin_cookie
                self._debugged.pin = pin
            self._emit(GateEvent(debugger=self.debugger, pid=os.getpid(), pin=pin))

    def set_trusted_hosts(self, hosts: Iterable[str]) -> None:
        """The Host names the debugger accepts; an empty list keeps the current ones."""
        hosts = [h for h in hosts if h]
        if not hosts:
            return
        self.trusted_hosts = hosts
        if self._debugged is not None:
            self._debugged.trusted_hosts = list(hosts)

    def rotate(self) -> None:
        """Forget stored frames and change the secret, so earlier pages stop working."""
        debugged = self._debugged
        if debugged is None:
            return
        from werkzeug.debug import gen_salt

        debugged.secret = gen_salt(20)
        debugged.frames.clear()
        debugged.frame_contexts.clear()

    def close_all(self) -> None:
        """Fail closed: no peer reaches the debugger from now on."""
        self.debugger = False
        self.grants = ()
        self.rotate()

    # --- per request ------------------------------------------------------------

    def allows(self, remote_addr: str | None, uid: int | None = None) -> bool:
        """True when a request from this socket peer may reach the debugger now.

        ``uid`` owns the peer's socket (None: unknown); a loopback peer is local
        only when that is debugdash's user, otherwise it needs a grant like any
        other address.
        """
        if not self.debugger:
            return False
        peer = parse_peer(remote_addr)
        if peer is None:
            return False
        if is_local(peer) and uid is not None and uid == self.owner:
            return True
        return granted(peer, "debugger", self.grants, self._clock())

    def wrap(self, app: Callable, plain: Callable, bound_host: str) -> Callable:
        """The WSGI app to serve: ``app`` behind the debugger when allowed, else ``plain``.

        ``app`` is what the debugger wraps (it must report and re-raise errors);
        ``plain`` serves closed requests. The DebuggedApplication is created once
        per process, with the session's PIN and cookie name.
        """
        if self._debugged is None:
            debugged = debugger_class()(
                _Replaying(app), evalex=True, console_path=CONSOLE_PATH, pin_security=True, pin_logging=False
            )
            hosts = [h for h in self.trusted_hosts if h] or [*DEFAULT_TRUSTED_HOSTS, bound_host]
            debugged.trusted_hosts = hosts
            debugged.on_untrusted_host = self._untrusted_host
            self._debugged = debugged
        else:
            self._debugged.app = _Replaying(app)
        # The cookie name is set first: Werkzeug's getter would otherwise derive it
        # and overwrite our PIN with the machine-derived one.
        self._debugged._pin_cookie = self._pin_cookie
        self._debugged.pin = self.pin
        return _GatedApp(self, self._debugged, plain)

    def _untrusted_host(self, environ: dict) -> None:
        """The debugger turned a request away for its Host name (Werkzeug's DNS-rebinding check)."""
        if environ.get("debugdash.host_refused"):
            return  # one report per request, however often the debugger checks
        environ["debugdash.host_refused"] = True
        self._emit(
            AccessRefused(
                address=str(environ.get("REMOTE_ADDR", "")),
                what="debugger",
                detail=str(environ.get("PATH_INFO", "")),
                host=_host_name(str(environ.get("HTTP_HOST", ""))),
            )
        )

    def _refused(self, environ: dict, uid: int | None) -> None:
        path = environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        if path != CONSOLE_PATH and "__debugger__" not in query:
            return
        if path != CONSOLE_PATH and parse_qs(query).get("__debugger__") != ["yes"]:
            return
        self._emit(
            AccessRefused(
                address=str(environ.get("REMOTE_ADDR", "")),
                what="debugger",
                detail=path,
                uid=uid if uid != self.owner else None,
            )
        )


def _host_name(header: str) -> str:
    """The name in a Host header, without its port (what a user trusts): ``[::1]:5000`` is ``[::1]``."""
    if header.startswith("["):
        return header.partition("]")[0] + "]"
    return header.partition(":")[0]


#: How the dev server spells a loopback peer: no address to parse on the common path.
_LOOPBACK_TEXT = frozenset({"127.0.0.1", "::1"})
#: Werkzeug's environ key through which Flask hands the debugger the contexts of a failed request.
_PRESERVE_CONTEXT = "werkzeug.debug.preserve_context"
#: Set by ``_GatedApp`` for the one call that replays a failure into the debugger.
_FAILED = "debugdash.failed"


class _GatedApp:
    """Which requests the debugger serves, decided as late as it can be.

    A request for the debugger itself (``/console``, ``?__debugger__=yes``) is
    judged on arrival. Any other request from a loopback peer runs as the plain
    app, and only when it fails is its peer's owner looked up (a kernel query,
    several system calls that each give up the GIL): Werkzeug's dev server
    answers every request on a new connection, so looking it up on arrival cost
    every request of a busy server, while the answer only matters to a failure.
    An allowed failure is then handed to the debugger as if it had raised there.
    """

    def __init__(self, gate: DebuggerGate, debugged: Any, plain: Callable) -> None:
        self.gate = gate
        self.debugged = debugged
        self.plain = plain

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        __traceback_hide__ = True  # noqa: F841 (see CaptureMiddleware)
        gate = self.gate
        try:
            if not gate.debugger:
                return self.plain(environ, start_response)
            remote = environ.get("REMOTE_ADDR")
            if _for_debugger(environ):
                uid = _loopback_peer_uid(environ)
                if gate.allows(remote, uid):
                    return self.debugged(environ, start_response)
                gate._refused(environ, uid)
                return self.plain(environ, start_response)
            if remote not in _LOOPBACK_TEXT and not is_local(parse_peer(remote)):
                # Judged by grants alone: no lookup to put off.
                return (self.debugged if gate.allows(remote) else self.plain)(environ, start_response)
            return self._until_it_fails(environ, start_response)
        except BaseException as e:
            drop_own_frame(e, sys._getframe())  # the server's traceback of the failure shows none of ours
            raise

    def _until_it_fails(self, environ: dict, start_response: Callable) -> Any:
        __traceback_hide__ = True  # noqa: F841
        contexts: list[Any] = []
        if self.debugged.evalex:
            # What Flask keeps for the debugger's console, as under the debugger itself.
            environ[_PRESERVE_CONTEXT] = contexts.append
        try:
            body = self.plain(environ, start_response)
        except Exception as e:
            drop_own_frame(e, sys._getframe())  # out of the log, and of the frames the debugger walks
            if not self._allowed_now(environ):
                raise
            failure = e
        else:
            return _WatchedBody(self, body, environ, start_response, contexts)
        # Outside the except clause: the debugger's answer is not "during handling" of the failure.
        return self._debug(failure, environ, start_response, contexts)

    def _allowed_now(self, environ: dict) -> bool:
        return self.gate.allows(environ.get("REMOTE_ADDR"), _loopback_peer_uid(environ))

    def _debug(self, failure: BaseException, environ: dict, start_response: Callable, contexts: list) -> Any:
        """The debugger's answer to ``failure``, raised again inside it (see ``_Replaying``)."""
        environ[_FAILED] = (failure, contexts)
        return self.debugged(environ, start_response)


class _WatchedBody:
    """A plain response body; an error while it is iterated goes to the debugger when allowed."""

    def __init__(self, gated: _GatedApp, body: Any, environ: dict, start_response: Callable, contexts: list) -> None:
        self._gated = gated
        self._body = body
        self._environ = environ
        self._start_response = start_response
        self._contexts = contexts

    def __iter__(self) -> Any:
        __traceback_hide__ = True  # noqa: F841
        try:
            yield from self._body
            return
        except Exception as e:
            self.close()
            drop_own_frame(e, sys._getframe())
            if not self._gated._allowed_now(self._environ):
                raise
            failure = e
        yield from self._gated._debug(failure, self._environ, self._start_response, self._contexts)

    def close(self) -> None:
        body, self._body = self._body, ()
        close = getattr(body, "close", None)
        if close is not None:
            close()


class _Replaying:
    """The app the debugger wraps: the real one, or a failure ``_GatedApp`` hands it.

    Raising the failure again here makes Werkzeug's own error handling show it,
    with the frames it failed in and none of debugdash's.
    """

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        __traceback_hide__ = True  # noqa: F841
        failed = environ.pop(_FAILED, None)
        if failed is None:
            return self.app(environ, start_response)
        failure, contexts = failed
        keep = environ.get(_PRESERVE_CONTEXT)
        if keep is not None:
            for context in contexts:
                keep(context)
        try:
            raise failure
        except BaseException as e:  # out of the frames the debugger walks for its page and text
            drop_own_frame(e, sys._getframe())
            raise


def _for_debugger(environ: dict) -> bool:
    """A request the debugger answers itself (Werkzeug's own dispatch rule)."""
    if "/" + str(environ.get("PATH_INFO", "")).lstrip("/") == CONSOLE_PATH:
        return True
    return "__debugger__" in environ.get("QUERY_STRING", "")


#: The owner of each open connection's peer, found once per connection: a
#: keep-alive client's later requests come over the same socket, from the same peer.
_OWNERS: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


def _loopback_peer_uid(environ: dict) -> int | None:
    """Who owns the peer socket of this request, looked up for loopback peers only
    (other peers are judged by grants alone)."""
    remote = environ.get("REMOTE_ADDR")
    if not is_local(parse_peer(remote)):
        return None
    sock = environ.get("werkzeug.socket")  # Werkzeug's dev server puts the connection here
    try:
        known = _OWNERS.get(sock)
        if known is not None:
            return known
        ours = sock.getsockname()[:2]
        uid = peer_uid((remote, int(environ["REMOTE_PORT"])), ours)
        if uid is not None:
            _OWNERS[sock] = uid
        return uid
    except (AttributeError, KeyError, TypeError, ValueError, OSError):
        return None

