"""The consoles of one server process, over the frames its ``FrameStore`` keeps (issue 13).

A console is named by the frame it is bound to: (occurrence, link of the
exception chain, frame number). Asking again for the same frame gives the same
console, so ``x = 5`` then ``x * 2`` work from two separate ``debugdash eval``
calls as from the dashboard. Consoles go with their occurrence's frames.

Standard library only: this runs inside someone else's server.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from debugdash.agent.console import Console, ConsoleBusy, Outcome
from debugdash.agent.frames import FrameStore, FramesGone
from debugdash.agent.queries import Queries
from debugdash.protocol.console import (
    CompleteQuery,
    Completions,
    EvalQuery,
    Evaluation,
    FramesHeld,
    FramesHeldQuery,
    Interrupted,
    InterruptQuery,
)
from debugdash.protocol.events import Reply

ConsoleKey = tuple[str, int, int]


@dataclass(slots=True)
class Place:
    """Where a console evaluates: the frame's numbers and what the user sees of it."""

    occurrence: str
    link: int
    frame: int
    filename: str
    lineno: int
    function: str


class Evaluations:
    def __init__(self, store: FrameStore) -> None:
        self.store = store
        store.on_release = self._drop
        self._lock = threading.Lock()
        self._consoles: dict[ConsoleKey, Console] = {}

    def console(self, occurrence: str, frame: int | None = None, link: int = -1) -> tuple[Place, Console]:
        """The console of that frame, opened on first use; FramesGone says why there is none."""
        link, number, live = self.store.frame(occurrence, frame, link)
        key = (occurrence, link, number)
        with self._lock:
            console = self._consoles.get(key)
            if console is None:
                console = self._consoles[key] = Console(live)
        # Released between the lookup and now: the next call says so; this one still answers.
        return Place(occurrence, link, number, live.filename, live.lineno, live.function), console

    def evaluate(self, occurrence: str, code: str, *, frame: int | None = None, link: int = -1, timeout: float = 0.0) -> tuple[Place, Outcome]:
        place, console = self.console(occurrence, frame, link)
        return place, console.run(code, timeout)

    def complete(self, occurrence: str, text: str, *, frame: int | None = None, link: int = -1) -> list[str]:
        return self.console(occurrence, frame, link)[1].complete(text)

    def interrupt(self, occurrence: str, frame: int | None = None, link: int = -1) -> bool:
        """Interrupt the evaluation running in that frame's console (every one of the occurrence's when ``frame`` is None)."""
        with self._lock:
            consoles = [c for (o, l, f), c in self._consoles.items() if o == occurrence and (frame is None or (f == frame and link in (l, -1)))]
        return any([console.interrupt() for console in consoles])

    def answer_queries(self, queries: Queries) -> None:
        """Answer the session's console queries; the agent runs each on a thread of its own."""
        queries.register(EvalQuery, _softly(self._eval))
        queries.register(CompleteQuery, _softly(lambda q: Completions(matches=self.complete(q.occurrence, q.text, frame=q.frame, link=q.link))))
        queries.register(InterruptQuery, _softly(lambda q: Interrupted(interrupted=self.interrupt(q.occurrence, q.frame, q.link))))
        queries.register(FramesHeldQuery, lambda q: FramesHeld(occurrences=self.store.held()))

    def _eval(self, query: EvalQuery) -> Evaluation:
        place, outcome = self.evaluate(query.occurrence, query.code, frame=query.frame, link=query.link, timeout=query.timeout)
        return Evaluation(
            link=place.link, frame=place.frame, filename=place.filename, lineno=place.lineno, function=place.function,
            exception=self.store.label(query.occurrence),
            output=outcome.output, value=outcome.value, raised=outcome.raised, traceback=outcome.traceback,
        )

    def _drop(self, occurrences: list[str]) -> None:
        gone = set(occurrences)
        with self._lock:
            for key in [k for k in self._consoles if k[0] in gone]:
                del self._consoles[key]


def _softly(handler: Callable[[object], Reply]) -> Callable[[object], Reply]:
    """``handler``, with the user's kind of failure (frames gone, console busy) as a one-line failed reply."""

    def answer(query: object) -> Reply:
        try:
            return handler(query)
        except (FramesGone, ConsoleBusy) as e:
            return Reply(ok=False, error=str(e))

    return answer
