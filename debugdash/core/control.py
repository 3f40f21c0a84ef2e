"""The control socket: how `debugdash allow/revoke/status/restart/toggle` in
another terminal steer a running session.

One typed request (``protocol.control``) and one answer per connection, each a
line of JSON. A dispatch table maps each request to the session call the
dashboard's keys make too. Only the user who
runs the session can connect: the socket sits in a 0700 directory, and the
peer's uid is checked as well.

Whatever arrives — a line too long, not JSON, a field of the wrong type — gets
an answer with ``"ok": false`` and a message, never a traceback in the
session's terminal. Types are strict: ``"state": "off"`` means off, and a value
that is neither a boolean nor "on"/"off" is refused rather than read as truthy.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import socket
import struct
from pathlib import Path
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from debugdash.core.allowlist import AccessEntry
from debugdash.core.console import ConsoleAccess
from debugdash.core.errors import UserInputError
from debugdash.core.request_session import RequestSession
from debugdash.core.runtime import runtime_base, session_sockets
from debugdash.protocol.clock import Clock
from debugdash.protocol.control import (
    MAX_REQUEST,
    TOGGLES,
    Allow,
    Answer,
    BadRequest,
    Curl,
    CurlCommand,
    GrantInfo,
    NewPin,
    NewPinAnswer,
    Replay,
    ReplayResult,
    Request,
    Requests,
    Restart,
    Restarted,
    Revoke,
    SessionStatus,
    Status,
    Switched,
    Toggle,
    TrustedHosts,
    TrustHost,
    decode,
    encode,
)
from debugdash.protocol.console import (
    Complete,
    CompletionsResult,
    ErrorGroupInfo,
    Errors,
    Eval,
    EvalResult,
    Interrupt,
    InterruptResult,
)
from debugdash.protocol.events import Toggles
from debugdash.protocol.request_events import RequestRecord
from debugdash.protocol.observe import (
    CodingAgentReport,
    ErrorDetail,
    ErrorDetailAnswer,
    LogLines,
    Logs,
    Noted,
    ReloadInfo,
    ReloadOutcome,
    Reloads,
    WaitForReload,
)

if TYPE_CHECKING:
    from debugdash.core.coding_agents import CodingAgents
    from debugdash.core.observe import SessionViews


class Steerable(Protocol):
    """What the control socket may ask of a session: the same calls the dashboard's keys make."""

    clock: Clock
    toggles: Toggles
    views: SessionViews
    coding_agents: CodingAgents
    requests: RequestSession
    console: ConsoleAccess

    def status(self) -> SessionStatus: ...
    async def grant(self, address: str, *, what: str, ttl: str | float | None, wide: bool, user: str | None) -> AccessEntry: ...
    async def revoke(self, address: str, *, user: str | None) -> AccessEntry: ...
    async def revoke_all(self, *, user: str | None) -> list[AccessEntry]: ...
    async def restart(self) -> None: ...
    def rotate_pin(self) -> str: ...
    async def set_debugger(self, on: bool) -> None: ...
    async def set_reloader(self, on: bool) -> None: ...
    async def set_attach(self, on: bool) -> None: ...
    async def set_debug(self, on: bool) -> None: ...
    def trusted_hosts(self) -> list[str]: ...


NO_SESSION = "no debugdash session is running; start one with `debugdash --app yourapp`"


class ControlServer:
    def __init__(self, session: Steerable, path: Path) -> None:
        self.session = session
        self.path = path
        self._server: asyncio.AbstractServer | None = None
        #: Every request the socket answers, and the call that answers it.
        self._handlers: dict[type[Request], Callable[[Any, str | None], Awaitable[Any]]] = {
            Status: self._status,
            Allow: self._allow,
            Revoke: self._revoke,
            Restart: self._restart,
            NewPin: self._new_pin,
            Toggle: self._toggle,
            Logs: self._logs,
            Reloads: self._reloads,
            WaitForReload: self._wait_for_reload,
            ErrorDetail: self._error_detail,
            CodingAgentReport: self._coding_agent,
            Requests: self._requests,
            Curl: self._curl,
            Replay: self._replay,
            TrustHost: self._trust_host,
            Errors: self._errors,
            Eval: self._eval,
            Complete: self._complete,
            Interrupt: self._interrupt,
        }

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # stale: the port was free, so no live session owns it
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path), limit=MAX_REQUEST)
        os.chmod(self.path, 0o600)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self.remove_socket()

    def remove_socket(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            user = _peer_user(writer)
            if user is None:
                return
            answer = await self._answer(reader, user)
            writer.write(answer.to_line())
            await writer.drain()
        except (OSError, asyncio.TimeoutError):
            pass
        finally:
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader, user: str) -> Answer:
        try:
            line = await asyncio.wait_for(reader.readline(), timeout=10)
        except ValueError:  # the stream's limit: no newline within MAX_REQUEST bytes
            return Answer(ok=False, error=f"bad request: longer than {MAX_REQUEST // 1024} KiB")
        try:
            request = decode(line)
            # Who asked comes from the kernel, never from the request.
            return Answer(ok=True, result=await self._handlers[type(request)](request, user or None))
        except (UserInputError, BadRequest) as e:
            return Answer(ok=False, error=str(e))
        except Exception as e:  # a request must never take the session down or print a traceback
            return Answer(ok=False, error=f"debugdash could not do that: {type(e).__name__}: {e}")

    async def _status(self, request: Status, user: str | None) -> SessionStatus:
        return self.session.status()

    async def _allow(self, request: Allow, user: str | None) -> GrantInfo:
        entry = await self.session.grant(
            request.address, what=request.what or "debugger", ttl=request.ttl, wide=request.wide, user=user
        )
        return entry.info(self.session.clock())

    async def _revoke(self, request: Revoke, user: str | None) -> list[GrantInfo]:
        if request.all:
            entries = await self.session.revoke_all(user=user)
        else:
            if request.address is None:
                raise BadRequest("bad request: 'address' must be a string")
            entries = [await self.session.revoke(request.address, user=user)]
        return [e.info(self.session.clock()) for e in entries]

    async def _restart(self, request: Restart, user: str | None) -> Restarted:
        await self.session.restart()
        return Restarted()

    async def _new_pin(self, request: NewPin, user: str | None) -> NewPinAnswer:
        return NewPinAnswer(pin=self.session.rotate_pin())

    async def _toggle(self, request: Toggle, user: str | None) -> Switched:
        name = request.name
        if name not in TOGGLES:
            raise UserInputError(f"unknown toggle {name!r}; use one of: {', '.join(TOGGLES)}")
        on = request.state if request.state is not None else not getattr(self.session.toggles, name)
        await getattr(self.session, f"set_{name}")(on)
        return Switched(name=name, on=getattr(self.session.toggles, name))

    # --- what a coding agent's `debugdash mcp` reads and reports (issue 17) ---------

    async def _logs(self, request: Logs, user: str | None) -> LogLines:
        return self.session.views.logs(request.tail, request.search, request.since)

    async def _reloads(self, request: Reloads, user: str | None) -> list[ReloadInfo]:
        return self.session.views.reloads()

    async def _wait_for_reload(self, request: WaitForReload, user: str | None) -> ReloadOutcome:
        return await self.session.views.wait_for_reload(request.timeout, request.since)

    async def _error_detail(self, request: ErrorDetail, user: str | None) -> ErrorDetailAnswer:
        return self.session.views.error_detail(request.group)

    async def _coding_agent(self, request: CodingAgentReport, user: str | None) -> Noted:
        self.session.coding_agents.report(request, user)
        return Noted()
    async def _requests(self, request: Requests, user: str | None) -> list[RequestRecord]:
        return self.session.requests.records(errors=request.errors, limit=request.limit)

    async def _curl(self, request: Curl, user: str | None) -> CurlCommand:
        return CurlCommand(text=await self.session.requests.curl(request.id))

    async def _replay(self, request: Replay, user: str | None) -> ReplayResult:
        return await self.session.requests.replay(request.id, confirmed=request.yes)

    async def _trust_host(self, request: TrustHost, user: str | None) -> TrustedHosts:
        self.session.requests.trust_host(request.host)
        return TrustedHosts(hosts=self.session.trusted_hosts())


    # --- the console (issue 13): only this socket's same-uid peers reach it ------------

    async def _errors(self, request: Errors, user: str | None) -> list[ErrorGroupInfo]:
        return await self.session.console.error_groups()

    async def _eval(self, request: Eval, user: str | None) -> EvalResult:
        return await self.session.console.evaluate(
            request.occurrence, request.code, frame=request.frame, link=request.link, timeout=request.timeout, user=user
        )

    async def _complete(self, request: Complete, user: str | None) -> CompletionsResult:
        matches = await self.session.console.complete(request.occurrence, request.text, frame=request.frame, link=request.link)
        return CompletionsResult(matches=matches)

    async def _interrupt(self, request: Interrupt, user: str | None) -> InterruptResult:
        interrupted = await self.session.console.interrupt(request.occurrence, frame=request.frame, link=request.link)
        return InterruptResult(interrupted=interrupted)


def _peer_user(writer: asyncio.StreamWriter) -> str | None:
    """The name of the user on the other end, or None when it is not the session's own user."""
    sock = writer.get_extra_info("socket")
    if sock is None or not hasattr(socket, "SO_PEERCRED"):
        # The 0700 directory is the guard where credentials are unavailable.
        return _name_of(os.getuid())
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return _name_of(uid) if uid == os.getuid() else None


def _name_of(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


# --- the client side (runs in the `debugdash allow/...` process) -------------


def running_sessions() -> dict[int, Path]:
    """The control sockets of the sessions running now, by port."""
    return {p: path for p, path in session_sockets(runtime_base()).items() if _alive(path)}


def find_session(port: int | None) -> Path:
    """The control socket of the running session; UserInputError naming the fix otherwise."""
    sockets = running_sessions()
    if port is not None:
        if port not in sockets:
            raise UserInputError(f"no debugdash session is running on port {port}; `debugdash status` lists sessions")
        return sockets[port]
    if not sockets:
        raise UserInputError(NO_SESSION)
    if len(sockets) > 1:
        ports = ", ".join(str(p) for p in sorted(sockets))
        raise UserInputError(f"{len(sockets)} debugdash sessions are running (ports {ports}); pick one with --port")
    return next(iter(sockets.values()))


def _alive(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        try:
            s.connect(str(path))
        except OSError:
            return False
    return True


def request(message: Request, port: int | None = None, timeout: float = 30.0) -> Any:
    """Send one request to the running session and return its result, an instance of ``message.Result``.

    Raises UserInputError with the session's message when it refuses.
    """
    path = find_session(port)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect(str(path))
            s.sendall(encode(message))
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except OSError as e:
            raise UserInputError(f"the debugdash session at {path} did not answer ({e.strerror or e}); is it still running?") from None
    if not data:
        raise UserInputError(f"the debugdash session at {path} closed the connection; is it still running?")
    answer = Answer.from_line(data, message)
    if not answer.ok:
        raise UserInputError(answer.error or "the session refused the request")
    return answer.result


def request_each(message: Request) -> list[Any]:
    """Send ``message`` to every running session; their results, by port.

    Raises UserInputError when none runs.
    """
    ports = sorted(running_sessions())
    if not ports:
        raise UserInputError(NO_SESSION)
    return [request(message, port) for port in ports]
