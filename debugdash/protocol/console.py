"""The console's messages (issue 13): what `debugdash errors/eval` and the dashboard ask
the session, and what the session asks the serving process's agent.

Two hops, each typed: a control request (``Errors``, ``Eval``, ``Complete``,
``Interrupt``) from the same user's terminal to the session, over the same-uid
control socket; and an agent query (``EvalQuery`` ...) from the session to the
process that holds the frames, over the agent socket. Nothing else reaches a
console: no port, no HTTP route, no grant.

Frames are named as the ``request_error`` event lists them: ``occurrence`` (the
event's id), ``link`` (which exception of the chain, root cause first; -1 the
one the request raised) and ``frame`` (outermost first; None for the innermost
frame of the app's own code).

Standard library only, like the rest of ``protocol``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from debugdash.protocol.codec import MULTILINE
from debugdash.protocol.commands import Query
from debugdash.protocol.control import _CHECKS, BadRequest, Request, _text
from debugdash.protocol.events import Reply
from debugdash.protocol.records import dataclass, field  # dataclasses.dataclass, cheaper to create

# --- the session's answers ------------------------------------------------------


@dataclass(slots=True)
class ErrorGroupInfo:
    """One error group, as `debugdash errors` lists it."""

    id: str  # short and stable for the group: a hash of type, file and line
    type: str
    message: str  # the first line of the newest occurrence's message
    location: str  # "file:line" where the app raised it
    count: int
    first_seen: float  # wall time
    last_seen: float
    occurrence: str  # the newest occurrence's id, for `debugdash eval`
    frames_held: bool  # whether the server still holds that occurrence's live frames
    request: str = ""  # "GET /checkout" of the newest occurrence
    #: The app's own frames of the newest occurrence, "5 app.py:12 in charge", by the number `eval --frame` takes.
    frames: list[str] = field(default_factory=list)


@dataclass(slots=True)
class EvalResult:
    """What one evaluation gave, and where it ran."""

    occurrence: str
    link: int
    frame: int
    where: str  # "app.py:12 in checkout"
    output: str = field(default="", metadata=MULTILINE)  # what print() wrote
    value: str = field(default="", metadata=MULTILINE)  # the repr of the last expression's value
    raised: bool = False
    traceback: str = field(default="", metadata=MULTILINE)


@dataclass(slots=True)
class CompletionsResult:
    matches: list[str]


@dataclass(slots=True)
class InterruptResult:
    interrupted: bool


# --- control requests ---------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class Errors(Request):
    cmd: ClassVar[str] = "errors"
    Result: ClassVar[Any] = list[ErrorGroupInfo]


@dataclass(slots=True, kw_only=True)
class Eval(Request):
    cmd: ClassVar[str] = "eval"
    Result: ClassVar[Any] = EvalResult
    occurrence: str
    code: str = field(metadata=MULTILINE)  # several lines: a block, a paste
    frame: int | None = None
    link: int = -1
    #: Seconds after which the evaluation is interrupted; 0 for never.
    timeout: float = 0.0


@dataclass(slots=True, kw_only=True)
class Complete(Request):
    cmd: ClassVar[str] = "complete"
    Result: ClassVar[Any] = CompletionsResult
    occurrence: str
    text: str  # the line up to the cursor
    frame: int | None = None
    link: int = -1


@dataclass(slots=True, kw_only=True)
class Interrupt(Request):
    cmd: ClassVar[str] = "interrupt"
    Result: ClassVar[Any] = InterruptResult
    occurrence: str
    frame: int | None = None  # None: every console of the occurrence
    link: int = -1


def _optional_index(value: Any, key: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not -1000 <= value <= 1000:
        raise BadRequest(f"bad request: {key!r} must be a frame number")
    return value


def _link(value: Any, key: str) -> int:
    found = _optional_index(value, key)
    return -1 if found is None else found


def _seconds(value: Any, key: str) -> float:
    if value is None:
        return 0.0
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
        return float(value)
    raise BadRequest(f"bad request: {key!r} must be a number of seconds")


_CHECKS.update({
    (Eval, "occurrence"): _text,
    (Eval, "code"): _text,
    (Eval, "frame"): _optional_index,
    (Eval, "link"): _link,
    (Eval, "timeout"): _seconds,
    (Complete, "occurrence"): _text,
    (Complete, "text"): _text,
    (Complete, "frame"): _optional_index,
    (Complete, "link"): _link,
    (Interrupt, "occurrence"): _text,
    (Interrupt, "frame"): _optional_index,
    (Interrupt, "link"): _link,
})


# --- agent queries and their replies ------------------------------------------------


@dataclass(slots=True, kw_only=True)
class Evaluation(Reply):
    name: ClassVar[str] = "evaluation"
    link: int = -1
    frame: int = 0
    filename: str = ""
    lineno: int = 0
    function: str = ""
    #: The kept exception, "KeyError: 'zone'", for the audit record.
    exception: str = ""
    output: str = field(default="", metadata=MULTILINE)
    value: str = field(default="", metadata=MULTILINE)
    raised: bool = False
    traceback: str = field(default="", metadata=MULTILINE)


@dataclass(slots=True, kw_only=True)
class Completions(Reply):
    name: ClassVar[str] = "completions"
    matches: list[str] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class Interrupted(Reply):
    name: ClassVar[str] = "interrupted"
    interrupted: bool = False


@dataclass(slots=True, kw_only=True)
class FramesHeld(Reply):
    name: ClassVar[str] = "frames_held"
    occurrences: list[str] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class EvalQuery(Query):
    name: ClassVar[str] = "eval"
    Reply: ClassVar[type[Reply]] = Evaluation
    occurrence: str
    code: str = field(metadata=MULTILINE)  # several lines: a block, a paste
    frame: int | None = None
    link: int = -1
    timeout: float = 0.0


@dataclass(slots=True, kw_only=True)
class CompleteQuery(Query):
    name: ClassVar[str] = "complete"
    Reply: ClassVar[type[Reply]] = Completions
    occurrence: str
    text: str
    frame: int | None = None
    link: int = -1


@dataclass(slots=True, kw_only=True)
class InterruptQuery(Query):
    name: ClassVar[str] = "interrupt"
    Reply: ClassVar[type[Reply]] = Interrupted
    occurrence: str
    frame: int | None = None
    link: int = -1


@dataclass(slots=True, kw_only=True)
class FramesHeldQuery(Query):
    name: ClassVar[str] = "frames_held"
    Reply: ClassVar[type[Reply]] = FramesHeld
