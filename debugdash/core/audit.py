"""The audit log: who opened which debugger to which address, and who was turned away.

One line per record, appended, tab-separated so ``cut``/``awk`` read it:

    <ISO-8601 time>  <user>  <action>  <address>  <what>  <detail>

Actions: grant, extend, revoke, expire, refuse; eval (code run in a kept
frame by the console: the occurrence, the frame, the error and the code with
secret-named values redacted); and for a coding agent's `debugdash mcp`:
mcp-connect, mcp (one per tool call: the tool, its arguments redacted, and how
it went), mcp-disconnect. Only these events are
written, and none of them carries the debugger PIN, so the PIN never reaches
this file.

An ungranted peer cannot grow the file without bound. The first refusal of an
address for a thing (debugger, attach) is written at once; repeats within the
next minute are counted, and the count is written as one more line when that
minute has passed (seen at the next event: stats arrive every second while the
server runs) or when the session stops. Past ``max_bytes`` the file is rotated
to ``audit.log.1``, replacing the previous one.
"""

from __future__ import annotations

import getpass
import os
from datetime import datetime
from pathlib import Path

from debugdash.protocol.events import (
    AccessExpired,
    AccessGranted,
    AccessRefused,
    AccessRevoked,
    AttachClient,
    Event,
)
from debugdash.protocol.records import dataclass  # dataclasses.dataclass, cheaper to create
from debugdash.protocol.session_events import Evaluated
from debugdash.protocol.observe import CodingAgent
from debugdash.protocol.clock import Clock, system_clock
from debugdash.protocol.text import display_text

_FIELD_LIMIT = 300
#: Refusals of the same address for the same thing within this many seconds become one count.
REPEAT_WINDOW = 60.0
#: Size at which the file is rotated (one previous file is kept).
MAX_BYTES = 1024 * 1024
#: Addresses counted at once; more (a sweep of an IPv6 network) writes the counts out early.
_MAX_WINDOWS = 1024


def default_path() -> Path:
    """``$XDG_STATE_HOME/debugdash/audit.log``, else ``~/.local/state/debugdash/audit.log``."""
    state = os.environ.get("XDG_STATE_HOME", "")
    # The XDG spec says a relative value is invalid and must be ignored.
    base = Path(state) if os.path.isabs(state) else Path.home() / ".local" / "state"
    return base / "debugdash" / "audit.log"


def current_user() -> str:
    """The login name of this process, or its uid when it has none (e.g. in a container)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


class AuditLog:
    """Appends access events to a private file (directory 0700, file 0600).

    Nothing touches the disk until the first record, so reading ``path`` (for
    ``debugdash status``) has no side effect.
    """

    def __init__(self, path: Path | None = None, *, clock: Clock | None = None, max_bytes: int = MAX_BYTES) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.clock: Clock = clock or system_clock()
        self.max_bytes = max_bytes
        #: The last write failure, for the caller to show; None while writes succeed.
        self.error: OSError | None = None
        # The relay reports one refused connection as AttachClient and
        # AccessRefused with the same timestamp; one line is enough.
        self._last_refusal: tuple[str, float] | None = None
        self._windows: dict[tuple[str, str], _Repeats] = {}

    def record(self, event: Event) -> bool:
        """Write one line if ``event`` is an access event; return True when a line was written.

        Other events are ignored (False), and so is a refusal repeated within
        the minute (it is counted). A failed write is kept in ``error`` and
        returns False rather than raising: the dashboard must keep running.
        """
        self.flush()
        fields = self._fields(event)
        if fields is None:
            return False
        if fields[1] == "refuse" and self._counted(fields, event.time):
            return False
        return self._write(event.time, fields)

    def flush(self, *, everything: bool = False) -> None:
        """Write the counts of repeated refusals whose minute has passed (all of them with ``everything``)."""
        if not self._windows:
            return
        now = self.clock()
        for key, repeats in list(self._windows.items()):
            if everything or now - repeats.opened >= REPEAT_WINDOW:
                del self._windows[key]
                if repeats.count:
                    self._write(repeats.last_time, repeats.fields())

    def close(self) -> None:
        """Write every pending count; call when the session stops."""
        self.flush(everything=True)

    def _counted(self, fields: tuple[str, str, str, str, str], when: float) -> bool:
        key = (fields[2], fields[3])
        repeats = self._windows.get(key)
        if repeats is not None:
            repeats.count += 1
            repeats.last_time = when
            repeats.last_detail = fields[4]
            return True
        if len(self._windows) >= _MAX_WINDOWS:
            self.flush(everything=True)
        self._windows[key] = _Repeats(fields[0], key[0], key[1], self.clock(), when, when)
        return False

    def _write(self, when: float, fields: tuple[str, str, str, str, str]) -> bool:
        line = "\t".join(_clean(f) for f in (_timestamp(when), *fields)) + "\n"
        try:
            self._append(line.encode("utf-8"))
        except OSError as e:
            self.error = e
            return False
        self.error = None
        return True

    def _fields(self, event: Event) -> tuple[str, str, str, str, str] | None:
        if isinstance(event, AccessGranted):
            action = "extend" if event.extended else "grant"
            return (event.user or current_user(), action, event.address, _what(event.what), f"ttl={event.seconds:g}s")
        if isinstance(event, AccessRevoked):
            return (event.user or current_user(), "revoke", event.address, _what(event.what), "")
        if isinstance(event, AccessExpired):
            return (current_user(), "expire", event.address, _what(event.what), "")
        if isinstance(event, AccessRefused):
            if self._seen_refusal(event.address, event.what, event.time):
                return None
            detail = f"host={event.host} {event.detail}".rstrip() if event.host else event.detail
            return (current_user(), "refuse", event.address, event.what, detail)
        if isinstance(event, CodingAgent):
            who = f"{event.client or 'mcp client'} pid {event.pid}"
            if event.state != "call":
                return (event.user or current_user(), f"mcp-{event.state.removesuffix('ed')}", who, "-", "")
            if event.ok:
                outcome = f"ok: {event.summary}" if event.summary else "ok"
            else:
                outcome = event.summary if event.summary == "refused" else f"failed: {event.summary}"
            return (event.user or current_user(), "mcp", who, event.tool, f"{event.arguments or '{}'} -> {outcome}")
        if isinstance(event, Evaluated):
            # The code is already redacted (``protocol.redact``); its lines joined to keep one record a line.
            code = " ⏎ ".join(event.code.splitlines())
            return (event.user or current_user(), "eval", event.occurrence, event.frame or "-", f"{event.error} | {code}")
        if isinstance(event, AttachClient) and event.state == "refused":
            if self._seen_refusal(event.peer, "attach", event.time):
                return None
            return (current_user(), "refuse", event.peer, "attach", "connection")
        return None

    def _seen_refusal(self, address: str, what: str, when: float) -> bool:
        if what != "attach":
            return False
        key = (address, when)
        seen = self._last_refusal == key
        self._last_refusal = key
        return seen

    def _append(self, data: bytes) -> None:
        directory = self.path.parent
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.stat()
        if info.st_mode & 0o077 and info.st_uid == os.getuid() and directory.name == "debugdash":
            # Only our own directory: a custom path may live in a shared one.
            directory.chmod(0o700)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
        fd = os.open(self.path, flags, 0o600)
        size = os.fstat(fd).st_size
        if size and size + len(data) > self.max_bytes:
            os.close(fd)
            os.replace(self.path, self.path.with_name(self.path.name + ".1"))
            fd = os.open(self.path, flags, 0o600)
        try:
            # An older file (or a lax umask) must not leave the log readable by others.
            if os.fstat(fd).st_mode & 0o077:
                os.fchmod(fd, 0o600)
            os.write(fd, data)
        finally:
            os.close(fd)


@dataclass(slots=True)
class _Repeats:
    """Refusals of one address for one thing after the one written, within a minute."""

    user: str
    address: str
    what: str
    opened: float  # on the clock
    first_time: float  # wall time of the refusal that was written
    last_time: float
    count: int = 0
    last_detail: str = ""

    def fields(self) -> tuple[str, str, str, str, str]:
        since = datetime.fromtimestamp(self.first_time).astimezone().strftime("%H:%M:%S")
        detail = f"repeated {self.count} more times since {since}, last: {self.last_detail or '-'}"
        return (self.user, "refuse", self.address, self.what, detail)


def _timestamp(when: float) -> str:
    return datetime.fromtimestamp(when).astimezone().isoformat(timespec="seconds")


def _what(what: list[str] | tuple[str, ...]) -> str:
    return ",".join(what)


def _clean(value: str) -> str:
    # Details come from the network (request paths); keep every record on one line.
    return display_text(value, limit=_FIELD_LIMIT).replace("\t", " ") or "-"
