"""Wake-ups for everything that moves with time, only when something will have moved.

The stats sample and the dashboard's repaint of uptime and countdowns run
together, one after the other in a single turn of the event loop, on whole
seconds of the loop's clock: each on its own timer, out of phase, they woke
the process twice as often.

Nothing here wakes every second for its own sake. Each subscriber answers a
tick with how many ticks it can wait for the next one: a countdown on screen
needs the next second, the uptime shown to the minute needs the next minute,
an idle server's unchanged stats a few seconds. The ticker sleeps until the
nearest of those. On this class of machine (a small VM) a wake-up of an idle
process is charged milliseconds however little it does, so an idle dashboard
that woke every second to find nothing changed cost 2-3 % of a core.
Something that needs a tick sooner than it last said (a grant was added, a
new server started) asks for it with ``within``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable

from debugdash.core.callbacks import in_subscribers_context

TICK_SECONDS = 1.0

#: A subscriber's answer: ticks until it next needs one (None: the next tick).
Need = int | None


class Ticker:
    """Calls all its subscribers together at each wake-up; runs while it has any."""

    def __init__(self, interval: float = TICK_SECONDS) -> None:
        self.interval = interval
        self._subscribers: list[Callable[[], Need]] = []
        self._handle: asyncio.TimerHandle | None = None
        self._at = 0.0

    def subscribe(self, callback: Callable[[], Need], *, first: bool = False) -> Callable[[], None]:
        """Call ``callback`` at every wake-up (``first``: before the others, e.g. a sample they show);
        it returns how many ticks it can wait (None: one). It is called in the context it
        subscribed from. Returns the function that ends it. Needs a running loop."""
        subscriber = in_subscribers_context(callback)
        if first:
            self._subscribers.insert(0, subscriber)
        else:
            self._subscribers.append(subscriber)
        self.within(1)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(subscriber)

        return unsubscribe

    def within(self, ticks: int = 1) -> None:
        """Wake up no later than ``ticks`` whole ticks from now (sooner if already due)."""
        if not self._subscribers:
            return
        now = asyncio.get_running_loop().time()
        self._wake_at((math.floor(now / self.interval) + max(1, ticks)) * self.interval)

    def _wake_at(self, at: float) -> None:
        if self._handle is not None:
            if self._at <= at:
                return
            self._handle.cancel()
        self._at = at
        self._handle = asyncio.get_running_loop().call_at(at, self._fire)

    def stop(self) -> None:
        self._subscribers.clear()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        served = self._at
        loop = asyncio.get_running_loop()
        needs = []
        for callback in list(self._subscribers):
            try:
                need = callback()
            except Exception as e:  # noqa: BLE001  one subscriber's failure must not stop the others' clock
                loop.call_exception_handler({"message": "a ticker subscriber failed", "exception": e})
                need = None
            needs.append(1 if need is None else max(1, need))
        if not self._subscribers:
            return
        # From the tick just served, not from now: a handle run a hair early must not tick twice.
        at = served + min(needs) * self.interval
        if at <= loop.time():  # the loop was held up past the next tick: the next whole one after now
            at = (math.floor(loop.time() / self.interval) + 1) * self.interval
        self._wake_at(at)  # unless a subscriber's within() asked for a sooner one meanwhile
