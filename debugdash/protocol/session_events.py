"""Events of the session's newer parts: an evaluation in a kept frame (the console), the
attached IDE's debug session and the reload held while it is paused, the preloaded
reload template.

Standard library only, like the rest of ``protocol``; the classes register with the
one codec like every event (see ``events``).
"""

from __future__ import annotations

from typing import ClassVar

from debugdash.protocol.events import Event, MULTILINE
from debugdash.protocol.records import dataclass, field  # dataclasses.dataclass, cheaper to create


@dataclass(slots=True, kw_only=True)
class Evaluated(Event):
    """Code was evaluated in a kept frame of a failing request (the console; issue 13)."""

    name: ClassVar[str] = "evaluated"
    user: str
    occurrence: str
    #: The error it belongs to, "KeyError: 'zone'", and the frame, "app.py:12 in checkout".
    error: str = ""
    frame: str = ""
    #: The code as typed, with the values of secret-named names redacted.
    code: str = field(default="", metadata=MULTILINE)
    raised: bool = False


@dataclass(slots=True, kw_only=True)
class DebugPaused(Event):
    """The attached IDE's debuggee stopped in a thread (``paused``), or runs on again."""

    name: ClassVar[str] = "debug_paused"
    paused: bool
    thread_id: int = 0
    thread: str = ""
    filename: str = ""
    line: int = 0
    function: str = ""
    reason: str = ""  # DAP's: breakpoint, step, exception, pause, ...


@dataclass(slots=True, kw_only=True)
class ReloadHeld(Event):
    """A watched file changed while the debuggee is stopped: the reload waits until it runs on."""

    name: ClassVar[str] = "reload_held"
    filename: str
    pid: int = 0


@dataclass(slots=True, kw_only=True)
class TemplateReady(Event):
    """A preloaded template is ready to fork the next worker."""

    name: ClassVar[str] = "template"
    pid: int
    #: Modules loaded in the template (the standard library's included).
    modules: int
    #: Resident memory of the template, in bytes.
    rss: int
    #: Top-level packages left out of the preload: they start threads or open sockets at import.
    excluded: list[str] = field(default_factory=list)
