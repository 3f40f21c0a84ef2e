"""What the dashboard says in a toast, for each event: every change is announced,
whoever made it (a key here, the palette, or ``debugdash allow``/``toggle`` from
another terminal), and floods are announced once."""

from __future__ import annotations

import getpass
import time
from collections.abc import Callable
from typing import Any

from debugdash.protocol.events import (
    AccessExpired,
    AccessGranted,
    AccessRefused,
    AccessRevoked,
    AttachListening,
    Event,
    Notice,
    RequestError,
    Toggles,
)
from debugdash.protocol.observe import CodingAgent
from debugdash.core.state import SessionState
from debugdash.protocol.text import display_text
from debugdash.tui import format as fmt

#: A new error group (or a refusal) is announced at most this often: a flood stays on the table.
ANNOUNCE_INTERVAL = 2.0
#: How long the "New error" toast stays up.
NEW_ERROR_TIMEOUT = 6.0

_SWITCHES = (
    ("debug", "debug mode", " (the server restarts)"),
    ("debugger", "debugger", ""),
    ("reloader", "reloader", " (the server restarts)"),
    ("attach", "external attach", ""),
)
_SEVERITY = {"info": "information", "warning": "warning", "error": "error"}


def switched(before: Toggles | None, after: Toggles) -> str:
    """``debugger off · reloader off (the server restarts)``, or "" when nothing changed."""
    if before is None:
        return ""
    changes = [
        f"{label} {'on' if getattr(after, name) else 'off'}{note}"
        for name, label, note in _SWITCHES
        if getattr(before, name) != getattr(after, name)
    ]
    return " · ".join(changes)


def _by(user: str) -> str:
    # Name who did it only when it was someone else (another user's `debugdash allow`).
    try:
        me = getpass.getuser()
    except (KeyError, OSError):
        me = ""
    return f" (by {display_text(user, 40)})" if user and user != me else ""


class Announcer:
    """Turns events into toasts through ``notify`` (App.notify's signature)."""

    def __init__(self, notify: Callable[..., Any], on_new_error: Callable[[], None]) -> None:
        self._notify = notify
        self._on_new_error = on_new_error
        self._last_error = float("-inf")
        self._last_refusal = float("-inf")

    def announce(self, event: Event, state: SessionState, toggles_before: Toggles | None) -> None:
        """``state`` already holds ``event``; ``toggles_before`` are the switches before it."""
        say = self._notify
        if isinstance(event, RequestError):
            group = state.error_groups[0]
            if group.count == 1 and self._due("_last_error"):
                say(
                    f"{display_text(group.type, 80)} in {event.method} {display_text(event.path, 80)}",
                    title="New error", severity="error", timeout=NEW_ERROR_TIMEOUT, markup=False,
                )
                self._on_new_error()
        elif isinstance(event, Toggles):
            change = switched(toggles_before, event)
            if change:
                say(change[0].upper() + change[1:], title="Switched", markup=False)
        elif isinstance(event, AccessGranted):
            verb = "still may" if event.extended else "may"
            say(
                f"{event.address} {verb} reach the {' and '.join(event.what)} for {fmt.duration(event.seconds)}{_by(event.user)}.",
                title="Access granted", markup=False,
            )
        elif isinstance(event, AccessRevoked):
            say(f"Revoked {event.address}{_by(event.user)}. It can no longer reach the {' or '.join(event.what)}.", markup=False)
        elif isinstance(event, AccessExpired):
            say(f"{event.address} can no longer reach the {' or '.join(event.what)}.", title="Remote access expired", severity="warning", markup=False)
        elif isinstance(event, AccessRefused):
            if self._due("_last_refusal"):
                say(f"{display_text(event.peer, 80)} has no {event.what} grant (g grants one).", title="Access refused", severity="warning", markup=False)
        elif isinstance(event, AttachListening) and event.listening:
            # The relay's port: the one an IDE (or an SSH tunnel) connects to.
            say(f"Attach your debugger to {display_text(event.host, 60)}:{event.port}.", title="External attach", markup=False)
        elif isinstance(event, CodingAgent) and event.state != "call":
            # Each call shows in the status line; arriving and leaving get a toast.
            verb = "is connected through `debugdash mcp`" if event.state == "connected" else "disconnected"
            say(f"Coding agent {display_text(event.client, 60)} {verb}.", title="Coding agent", markup=False)
        elif isinstance(event, Notice):
            say(display_text(event.message), severity=_SEVERITY[event.level], timeout=8, markup=False)

    def _due(self, last: str) -> bool:
        now = time.monotonic()
        if now - getattr(self, last) < ANNOUNCE_INTERVAL:
            return False
        setattr(self, last, now)
        return True
