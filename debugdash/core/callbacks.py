"""Subscribers are called in the context they subscribed from.

asyncio runs a callback in the ``contextvars`` context that was current when
it was registered (``call_soon``, ``add_reader``, a task's creation); our own
subscriptions keep that rule. Events reach a subscriber from wherever they
were published: the pipe reader's thread handing a batch to the loop, a task
the supervisor started before the dashboard ran. Textual finds its app in a
context variable, and a timer set from a context without it never fires: the
dashboard's render timer was set that way and stayed pending, so the screen
moved only with the next tick (up to a minute idle) instead of at once.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def in_subscribers_context(callback: Callable[P, R]) -> Callable[P, R]:
    """``callback``, run in a copy of the context current now, wherever it is called from.

    A copy per call: a callback that publishes again (and so is called again
    inside itself) must not enter the same context twice, which ``run`` refuses.
    """
    context = contextvars.copy_context()

    def in_context(*args: P.args, **kwargs: P.kwargs) -> R:
        return context.copy().run(callback, *args, **kwargs)

    return in_context
