"""One wake-up a second for everything that moves with time.

The stats sample and the dashboard's repaint of uptime and countdowns both
run once a second. Each on its own timer, out of phase, they woke the process
twice (and the sample's thread handoff twice more); on a busy machine every
wake-up of an idle process costs more than the work it does. Here they run
one after the other in a single turn of the event loop, on whole seconds of
the loop's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

TICK_SECONDS = 1.0


class Ticker:
    """Calls its subscribers together every ``TICK_SECONDS``; runs while it has any."""

    def __init__(self, interval: float = TICK_SECONDS) -> None:
        self.interval = interval
        self._subscribers: list[Callable[[], None]] = []
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, callback: Callable[[], None], *, first: bool = False) -> Callable[[], None]:
        """Call ``callback`` on every tick (``first``: before the others, e.g. a sample they show);
        returns the function that ends it. Needs a running loop."""
        if first:
            self._subscribers.insert(0, callback)
        else:
            self._subscribers.append(callback)
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def stop(self) -> None:
        self._subscribers.clear()
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._subscribers:
            await asyncio.sleep(self.interval - loop.time() % self.interval)
            for callback in list(self._subscribers):
                try:
                    callback()
                except Exception as e:  # noqa: BLE001  one subscriber's failure must not stop the others' clock
                    loop.call_exception_handler({"message": "a ticker subscriber failed", "exception": e})
