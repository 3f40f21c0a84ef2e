"""The local socket between the supervisor and the agent inside the server.

One JSON object per line, UTF-8. The agent speaks first with a ``hello`` that
carries the one-time token from its environment; the supervisor answers with a
``configure`` command holding the whole current state (debugger gate, grants,
attach), and from then on the agent sends events (see ``events``) and the
supervisor sends commands. When the connection is lost the agent closes every
gate and ends its process: the server never outlives its supervisor.

Standard library only: the agent imports this inside someone else's server.
"""

from __future__ import annotations

import dataclasses
import secrets
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from debugdash.core.events import Event, EventFormatError, event_from_dict

SOCKET_ENV = "DEBUGDASH_SOCKET"
TOKEN_ENV = "DEBUGDASH_TOKEN"
#: Where the agent finds a debugpy to import when the app's environment has none.
DEBUGPY_PATH_ENV = "DEBUGDASH_DEBUGPY_PATH"
#: Script mode: the host and port that override the script's own app.run() arguments.
HOST_ENV = "DEBUGDASH_HOST"
PORT_ENV = "DEBUGDASH_PORT"
#: "1" or "0": the reloader on or off, whatever app.run() or flask's flags say.
RELOAD_ENV = "DEBUGDASH_RELOAD"
#: Set for a warm spare worker: import what every worker needs, then wait for a
#: line on stdin before connecting and loading the app.
SPARE_ENV = "DEBUGDASH_SPARE"
#: The pid of the process that started this server (debugdash, or the agent of a
#: reloader parent): the parent-death signal is armed only while it still lives.
PARENT_PID_ENV = "DEBUGDASH_PARENT_PID"
#: The read end of a pipe only debugdash writes to: end of file means debugdash is gone.
GUARD_FD_ENV = "DEBUGDASH_GUARD_FD"

#: Longest line either side accepts; a request_error with many frames fits easily.
MAX_LINE = 8 * 1024 * 1024


@dataclass(slots=True)
class WireGrant:
    """One allowlist entry as the agent enforces it."""

    network: str  # canonical network, e.g. "127.0.0.2/32" or "2001:db8::/64"
    what: list[str]  # subset of ["debugger", "attach"]
    deadline: float  # on the shared monotonic clock (see core.clock)


_COMMANDS: dict[str, type[Command]] = {}


@dataclass(slots=True, kw_only=True)
class Command:
    name: ClassVar[str] = ""

    # No super() here: slots dataclasses are rebuilt, which breaks zero-argument super.
    def __init_subclass__(cls) -> None:
        if cls.name:
            _COMMANDS[cls.name] = cls

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"cmd": self.name}
        data.update(dataclasses.asdict(self))
        return data


@dataclass(slots=True, kw_only=True)
class Hello(Command):
    """First line from the agent."""

    name: ClassVar[str] = "hello"
    token: str
    pid: int
    #: "worker" serves requests; "reloader" is the parent that restarts workers;
    #: "server" serves without a reloader.
    role: str


@dataclass(slots=True, kw_only=True)
class Configure(Command):
    """The whole state, sent in answer to ``hello``."""

    name: ClassVar[str] = "configure"
    debugger: bool
    grants: list[WireGrant] = field(default_factory=list)
    trusted_hosts: list[str] = field(default_factory=list)
    #: Internal debugpy port to listen on, or None for attach off.
    attach_port: int | None = None
    #: The session's debugger PIN and the name of its cookie: one per debugdash
    #: session, so a reload keeps them (and the browser's unlock), as `flask run` does.
    pin: str = ""
    pin_cookie: str = ""


@dataclass(slots=True, kw_only=True)
class SetGate(Command):
    name: ClassVar[str] = "set_gate"
    debugger: bool


@dataclass(slots=True, kw_only=True)
class SetGrants(Command):
    """Replace the allowlist; ``rotate`` also clears the debugger's frames and secret."""

    name: ClassVar[str] = "set_grants"
    grants: list[WireGrant]
    rotate: bool = False
    #: With ``rotate``: the new PIN and cookie name (a grant ended, or the user asked).
    pin: str = ""
    pin_cookie: str = ""


def fresh_pin() -> str:
    """A random debugger PIN in Werkzeug's ``123-456-789`` format."""
    digits = f"{secrets.randbelow(10**9):09d}"
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


def fresh_pin_cookie() -> str:
    """A random name for the debugger's PIN cookie (a new name forgets every unlocked browser)."""
    return f"__wzd{secrets.token_hex(10)}"


@dataclass(slots=True, kw_only=True)
class SetAttach(Command):
    """Start debugpy on the internal port, or stop it (port None)."""

    name: ClassVar[str] = "set_attach"
    port: int | None


def command_from_dict(data: dict[str, Any]) -> Command:
    try:
        cls = _COMMANDS[data["cmd"]]
    except (KeyError, TypeError):
        raise EventFormatError(f"unknown command: {data!r:.200}") from None
    kwargs = {k: v for k, v in data.items() if k != "cmd"}
    if "grants" in kwargs:
        kwargs["grants"] = [WireGrant(**g) for g in kwargs["grants"]]
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise EventFormatError(f"malformed {cls.name} command: {e}") from None


def encode(message: Event | Command) -> bytes:
    """One line of the wire format, newline included."""
    return json.dumps(message.to_dict(), separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> Event | Command:
    """Parse one line into an event or a command; raise EventFormatError if neither."""
    try:
        data = json.loads(line)
    except (ValueError, UnicodeDecodeError) as e:
        raise EventFormatError(f"not JSON: {e}") from None
    if not isinstance(data, dict):
        raise EventFormatError("not an object")
    if "cmd" in data:
        return command_from_dict(data)
    return event_from_dict(data)
