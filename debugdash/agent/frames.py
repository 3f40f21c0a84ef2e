"""The live frames of the newest failing requests, kept for the console (issue 13).

Keeping an exception keeps its traceback, and with it every frame's globals and
locals: that is the point, and the cost. The store holds the exceptions of the
newest ``limit`` occurrences (20 by default) and lets go of the oldest beyond
that, of the groups the user clears, and of everything when the worker ends (a
reload replaces the process, so nothing of it survives). Why an occurrence is
gone is remembered, bounded, so that the console can say so in one line.

Frames are addressed as the ``request_error`` event lists them: the exception
chain root cause first, then the frames of one link outermost first, without
debugdash's own frames and at most ``capture.MAX_FRAMES`` of the innermost. The
store computes nothing of that when a request fails (it only files the
exception away): the walk happens when a console asks.

Standard library only: this runs inside someone else's server.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from types import FrameType, TracebackType

from debugdash.protocol.records import dataclass  # dataclasses.dataclass, cheaper to create

#: Occurrences kept with their frames unless the session says otherwise.
DEFAULT_LIMIT = 20
#: Occurrences whose release is remembered, so that a console can say why they are gone.
_GONE_LIMIT = 1000


class FramesGone(LookupError):
    """The occurrence (or the frame asked for) holds no live frames; the message says why, in one line."""


@dataclass(slots=True)
class LiveFrame:
    frame: FrameType
    lineno: int
    filename: str
    function: str


@dataclass(slots=True)
class _Kept:
    exception: BaseException
    #: The traceback as it was when the request failed: the exception's own one grows
    #: outward (Werkzeug's serving frames) as it propagates, which would shift the numbers.
    traceback: TracebackType | None


class FrameStore:
    """The exceptions of the newest failing requests, by occurrence id; thread-safe."""

    def __init__(self, limit: int = DEFAULT_LIMIT, on_release: Callable[[list[str]], None] | None = None) -> None:
        self.limit = max(0, int(limit))
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._gone: OrderedDict[str, str] = OrderedDict()
        self._numbers = itertools.count(1)
        #: Called with the released occurrence ids (outside the lock), e.g. to drop their consoles.
        self.on_release = on_release

    def keep(self, exception: BaseException) -> str:
        """File ``exception`` away under a new occurrence id and return the id; never raises.

        Runs on the request's thread when it fails: a dictionary insert, nothing more.
        """
        occurrence = f"{os.getpid()}-{next(self._numbers)}"
        released: list[str] = []
        with self._lock:
            if self.limit == 0:
                self._forget_locked([occurrence], "frames are not kept in this session (keep_frames = 0)")
                return occurrence
            self._kept[occurrence] = _Kept(exception, exception.__traceback__)
            while len(self._kept) > self.limit:
                released.append(self._kept.popitem(last=False)[0])
            if released:
                reason = f"frames released: only the newest {self.limit} failing requests keep their frames"
                self._forget_locked(released, reason)
        self._released(released)
        return occurrence

    def held(self) -> list[str]:
        """The occurrences whose frames are live, oldest first."""
        with self._lock:
            return list(self._kept)

    def frame(self, occurrence: str, number: int | None = None, link: int = -1) -> tuple[int, int, LiveFrame]:
        """Frame ``number`` of one link of the chain (None: the innermost of the app's own code).

        Returns the link's and the frame's numbers counted from 0 (so ``-1`` and the
        last link name the same console) and the frame; FramesGone with the reason otherwise.
        """
        chain = self._chain(occurrence)
        if not -len(chain) <= link < len(chain):
            raise FramesGone(f"occurrence {occurrence} has {len(chain)} exception(s) in its chain, not {link + 1}")
        link %= len(chain)
        frames = _live_frames(chain[link][1])
        if not frames:
            raise FramesGone(f"occurrence {occurrence} has no frames to evaluate in")
        if number is None:
            from debugdash.agent.capture import is_app_file

            apps = [i for i, f in enumerate(frames) if is_app_file(f.filename)]
            number = apps[-1] if apps else len(frames) - 1
        if not 0 <= number < len(frames):
            raise FramesGone(f"occurrence {occurrence} has frames 0 to {len(frames) - 1}; pick one of those with --frame")
        return link, number, frames[number]

    def release_groups(self, keys: set[tuple[str, str, int]], reason: str = "frames released: the error group was cleared") -> list[str]:
        """Let go of the occurrences of the groups ``keys`` (type, file, line, as the dashboard groups them)."""
        with self._lock:
            items = list(self._kept.items())
        matching = [occurrence for occurrence, kept in items if _group_key(kept) in keys]
        return self._release(matching, reason)

    def release_all(self, reason: str = "frames released: the errors were cleared") -> list[str]:
        with self._lock:
            occurrences = list(self._kept)
        return self._release(occurrences, reason)

    def label(self, occurrence: str) -> str:
        """"KeyError: 'zone'": the occurrence's exception, short; "" when it is gone."""
        with self._lock:
            kept = self._kept.get(occurrence)
        if kept is None:
            return ""
        from debugdash.agent.capture import message_of, type_name

        message = message_of(kept.exception).strip().splitlines()
        kind = type_name(kept.exception)
        return f"{kind}: {message[0][:200]}" if message else kind

    def why_gone(self, occurrence: str) -> str:
        """One line saying why ``occurrence`` holds no frames."""
        with self._lock:
            reason = self._gone.get(occurrence)
        if reason is not None:
            return f"{occurrence}: {reason}"
        pid, _, number = occurrence.partition("-")
        if pid.isdigit() and number.isdigit() and int(pid) != os.getpid():
            return f"{occurrence}: frames released: the worker that raised it was replaced (a reload or restart)"
        return f"no occurrence {occurrence!r}; `debugdash errors` lists the error groups and their newest occurrence"

    # --- inside ---------------------------------------------------------------

    def _chain(self, occurrence: str) -> list[tuple[BaseException, TracebackType | None]]:
        with self._lock:
            kept = self._kept.get(occurrence)
        if kept is None:
            raise FramesGone(self.why_gone(occurrence))
        return _chain_of(kept)

    def _release(self, occurrences: list[str], reason: str) -> list[str]:
        with self._lock:
            released = [o for o in occurrences if self._kept.pop(o, None) is not None]
            self._forget_locked(released, reason)
        self._released(released)
        return released

    def _forget_locked(self, occurrences: list[str], reason: str) -> None:
        for occurrence in occurrences:
            self._gone[occurrence] = reason
        while len(self._gone) > _GONE_LIMIT:
            self._gone.popitem(last=False)

    def _released(self, occurrences: list[str]) -> None:
        if occurrences and self.on_release is not None:
            try:
                self.on_release(occurrences)
            except Exception:
                pass  # dropping consoles must never fail a request


def _chain_of(kept: _Kept) -> list[tuple[BaseException, TracebackType | None]]:
    """The chain ending in the kept exception, root cause first, as ``capture.exception_chain`` walks it."""
    from debugdash.agent.capture import MAX_CHAIN

    links: list[tuple[BaseException, TracebackType | None]] = []
    seen: set[int] = set()
    current: BaseException | None = kept.exception
    while current is not None and id(current) not in seen and len(links) < MAX_CHAIN:
        seen.add(id(current))
        tb = kept.traceback if current is kept.exception else current.__traceback__
        links.append((current, tb))
        if current.__cause__ is not None:
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            current = current.__context__
        else:
            current = None
    links.reverse()
    return links


def _live_frames(tb: TracebackType | None) -> list[LiveFrame]:
    """The frames ``capture.frames_of`` reports for ``tb``, live, in the same order and numbering."""
    from debugdash.agent.capture import MAX_FRAMES, _is_debugdash_file

    frames = []
    while tb is not None:
        code = tb.tb_frame.f_code
        if not _is_debugdash_file(code.co_filename):
            function = getattr(code, "co_qualname", code.co_name)
            frames.append(LiveFrame(tb.tb_frame, tb.tb_lineno or 0, code.co_filename, function))
        tb = tb.tb_next
    return frames[-MAX_FRAMES:]


def _group_key(kept: _Kept) -> tuple[str, str, int]:
    """The dashboard's group key (``core.state``): type, and where the app raised it."""
    from debugdash.agent.capture import is_app_file, type_name

    frames = _live_frames(kept.traceback)
    apps = [f for f in frames if is_app_file(f.filename)]
    where = apps[-1] if apps else (frames[-1] if frames else None)
    kind = type_name(kept.exception)
    return (kind, where.filename, where.lineno) if where else (kind, "", 0)
