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

import secrets
from typing import Any, ClassVar

from debugdash.protocol import codec
from debugdash.protocol.codec import MAX_LINE  # noqa: F401  (the socket's line limit)
from debugdash.protocol.events import Event, NewestErrorSent, Pong, Reply
from debugdash.protocol.records import dataclass, field  # dataclasses.dataclass, cheaper to create
from debugdash.protocol.requests import FetchedRequest


@dataclass(slots=True)
class WireGrant:
    """One allowlist entry as the agent enforces it."""

    network: str  # canonical network, e.g. "127.0.0.2/32" or "2001:db8::/64"
    what: list[str]  # subset of ["debugger", "attach"]
    deadline: float  # on the shared monotonic clock (see protocol.clock)


@dataclass(slots=True, kw_only=True)
class Command:
    name: ClassVar[str] = ""

    # No super() here: slots dataclasses are rebuilt, which breaks zero-argument super.
    def __init_subclass__(cls) -> None:
        if cls.name:
            codec.COMMANDS.register(cls)

    def to_dict(self) -> dict[str, Any]:
        return codec.COMMANDS.as_dict(self)


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
    #: How many failing requests keep their live frames for the console (0: none).
    keep_frames: int = 20


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


@dataclass(slots=True, kw_only=True)
class Query(Command):
    """A command that expects one answer: the agent sends back an instance of
    ``Reply`` (the query's reply class) with the same ``qid``, or a bare
    ``events.Reply`` with ``ok`` false when it could not answer.
    """

    qid: int = 0
    Reply: ClassVar[type[Reply]] = Reply


@dataclass(slots=True, kw_only=True)
class Ping(Query):
    """The cheapest query: is the serving process's agent answering, and which pid is it."""

    name: ClassVar[str] = "ping"
    Reply: ClassVar[type[Reply]] = Pong


@dataclass(slots=True, kw_only=True)
class FetchRequest(Query):
    """A request the serving process still holds in its ring (one that succeeded), with its real values."""

    name: ClassVar[str] = "fetch_request"
    Reply: ClassVar[type[Reply]] = FetchedRequest
    pid: int  # the process that served it: another one never has it
    number: int  # that process's own number for it


@dataclass(slots=True, kw_only=True)
class SendNewestError(Query):
    """Send the newest occurrence of an error group whole now, rather than when its rate allows.

    The group is the dashboard's: exception type and where it was raised.
    """

    name: ClassVar[str] = "send_newest_error"
    Reply: ClassVar[type[Reply]] = NewestErrorSent
    #: Not ``type``: that name would hide the builtin from the ``ClassVar[type[...]]`` hint above.
    exception_type: str
    filename: str
    lineno: int


def encode(message: Event | Command) -> bytes:
    """One line of the wire format, newline included."""
    return codec.encode(message)


def decode(line: bytes) -> Event | Command:
    """Parse one line into an event or a command; raise EventFormatError if neither."""
    return codec.decode(line, codec.COMMANDS, codec.EVENTS)


@dataclass(slots=True, kw_only=True)
class ReleaseFrames(Command):
    """Let go of the kept frames of some error groups (all of them with ``all``): the user cleared them."""

    name: ClassVar[str] = "release_frames"
    #: Group keys as the dashboard groups errors: [exception type, file, line].
    groups: list[list[str | int]] = field(default_factory=list)
    all: bool = False


@dataclass(slots=True, kw_only=True)
class AttachConfigured(Command):
    """The attach hub has given the worker's debugger the IDE's breakpoints (or there is no IDE):
    the worker may serve. Sent to every serving process; one still waiting goes on."""

    name: ClassVar[str] = "attach_configured"


# The console's queries and their replies (protocol.console) are known by name
# before that module is imported: a server imports it with its first console query.
codec.COMMANDS.defer("debugdash.protocol.console", "eval", "complete", "interrupt", "frames_held")
codec.EVENTS.defer("debugdash.protocol.console", "evaluation", "completions", "interrupted", "frames_held")
