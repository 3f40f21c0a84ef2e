"""The control socket: how `debugdash allow/revoke/status/restart/toggle` in
another terminal steer a running session.

One request and one answer per connection, each a line of JSON. Requests call
the same Supervisor coroutines the dashboard's keys call. Only the user who
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
import json
import math
import os
import pwd
import socket
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

from debugdash.core.errors import UserInputError
from debugdash.core.runtime import runtime_base, session_sockets

if TYPE_CHECKING:
    from debugdash.core.supervisor import Supervisor

TOGGLES = ("debugger", "reloader", "attach", "debug")
NO_SESSION = "no debugdash session is running; start one with `debugdash --app yourapp`"

#: Longest request line; the largest real one (an allow) is under 200 bytes.
MAX_REQUEST = 64 * 1024


class BadRequest(ValueError):
    """A request that is not what the protocol allows; its message is the answer."""


class ControlServer:
    def __init__(self, supervisor: Supervisor, path: Path) -> None:
        self.supervisor = supervisor
        self.path = path
        self._server: asyncio.AbstractServer | None = None

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
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        except (OSError, asyncio.TimeoutError):
            pass
        finally:
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader, user: str) -> dict[str, Any]:
        try:
            line = await asyncio.wait_for(reader.readline(), timeout=10)
        except ValueError:  # the stream's limit: no newline within MAX_REQUEST bytes
            return {"ok": False, "error": f"bad request: longer than {MAX_REQUEST // 1024} KiB"}
        try:
            request = _parse(line)
            request["user"] = user  # who asked, from the kernel, not from the request
            return {"ok": True, "result": await self._handle(request)}
        except (UserInputError, BadRequest) as e:
            return {"ok": False, "error": str(e)}
        except Exception as e:  # a request must never take the session down or print a traceback
            return {"ok": False, "error": f"debugdash could not do that: {type(e).__name__}: {e}"}

    async def _handle(self, request: dict[str, Any]) -> Any:
        sup = self.supervisor
        command = _text(request, "cmd")
        user = str(request.get("user") or "")
        if command == "status":
            return sup.status()
        if command == "allow":
            entry = await sup.grant(
                _text(request, "address"),
                what=_text(request, "what", optional=True) or "debugger",
                ttl=_ttl(request),
                wide=_flag(request, "wide"),
                user=user or None,
            )
            return entry.to_dict(sup.clock())
        if command == "revoke":
            if _flag(request, "all"):
                return [e.to_dict(sup.clock()) for e in await sup.revoke_all(user=user or None)]
            return [(await sup.revoke(_text(request, "address"), user=user or None)).to_dict(sup.clock())]
        if command == "restart":
            await sup.restart()
            return {"restarted": True}
        if command == "new_pin":
            return {"pin": sup.rotate_pin()}
        if command == "toggle":
            name = _text(request, "name")
            if name not in TOGGLES:
                raise UserInputError(f"unknown toggle {name!r}; use one of: {', '.join(TOGGLES)}")
            on = _state(request)
            if on is None:
                on = not getattr(sup.toggles, name)
            await getattr(sup, f"set_{name}")(on)
            return {name: getattr(sup.toggles, name)}
        raise UserInputError(f"unknown command {command!r}")


def _parse(line: bytes) -> dict[str, Any]:
    try:
        request = json.loads(line)
    except ValueError:  # UnicodeDecodeError included
        raise BadRequest("bad request: not a line of JSON") from None
    if not isinstance(request, dict):
        raise BadRequest("bad request: a JSON object is expected")
    return request


def _text(request: dict[str, Any], key: str, *, optional: bool = False) -> str | None:
    value = request.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"bad request: {key!r} must be a string")
    return value


def _flag(request: dict[str, Any], key: str) -> bool:
    value = request.get(key, False)
    if not isinstance(value, bool):
        raise BadRequest(f"bad request: {key!r} must be true or false")
    return value


def _ttl(request: dict[str, Any]) -> str | float | None:
    value = request.get("ttl")
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    raise BadRequest("bad request: 'ttl' must be a duration such as \"15m\" or a number of seconds")


def _state(request: dict[str, Any]) -> bool | None:
    """True/False from true/false/"on"/"off"; None (absent or null) means flip."""
    value = request.get("state")
    if value is None or isinstance(value, bool):
        return value
    if value in ("on", "off"):
        return value == "on"
    raise BadRequest('bad request: \'state\' must be true, false, "on" or "off" (or absent to flip)')


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


def request(message: dict[str, Any], port: int | None = None, timeout: float = 30.0) -> Any:
    """Send one request to the running session and return its result.

    Raises UserInputError with the session's message when it refuses.
    """
    path = find_session(port)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect(str(path))
            s.sendall(json.dumps(message).encode() + b"\n")
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
    answer = json.loads(data)
    if not answer.get("ok"):
        raise UserInputError(answer.get("error") or "the session refused the request")
    return answer["result"]


def request_each(message: dict[str, Any]) -> list[Any]:
    """Send ``message`` to every running session; their results, by port.

    Raises UserInputError when none runs.
    """
    ports = sorted(running_sessions())
    if not ports:
        raise UserInputError(NO_SESSION)
    return [request(message, port) for port in ports]
