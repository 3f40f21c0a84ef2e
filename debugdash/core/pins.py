"""The debugger PIN and PIN-cookie name of one session.

Kept across reloads and restarts, as `flask run` keeps its PIN, so a browser
stays unlocked while the developer edits. Both are replaced when a grant ends
(someone who had access may know the PIN, and a browser of theirs holds the
cookie) or when the user asks; the agent then also forgets the debugger's
frames and secret.
"""

from __future__ import annotations

from collections.abc import Callable

from debugdash.protocol import commands as wire


class SessionPin:
    def __init__(self, send: Callable[[wire.Command], None]) -> None:
        self._send = send
        self.pin = wire.fresh_pin()
        self.cookie = wire.fresh_pin_cookie()

    def fill(self, configure: wire.Configure) -> wire.Configure:
        """``configure`` (a new process's whole state) with this session's PIN and cookie name."""
        configure.pin, configure.pin_cookie = self.pin, self.cookie
        return configure

    def push_grants(self, grants: list[wire.WireGrant], rotate: bool) -> None:
        """Send the allowlist to the agents; ``rotate`` retires the PIN and cookie with it."""
        if rotate:
            self.pin, self.cookie = wire.fresh_pin(), wire.fresh_pin_cookie()
        credentials = {"pin": self.pin, "pin_cookie": self.cookie} if rotate else {}
        self._send(wire.SetGrants(grants=grants, rotate=rotate, **credentials))
