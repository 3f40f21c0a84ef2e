"""Subscribers are called in the context they subscribed from, wherever the
event comes from: a batch handed over from the pipe reader's thread, a task
started before the dashboard ran (whose context has no Textual app in it)."""

from __future__ import annotations

import asyncio
import contextvars
import threading

from debugdash.core.audit import AuditLog
from debugdash.core.bus import EventBus
from debugdash.core.logbuffer import LogBuffer
from debugdash.core.ticker import Ticker
from debugdash.protocol.events import Notice

WHO = contextvars.ContextVar("WHO", default="nobody")


def _from_a_thread(loop: asyncio.AbstractEventLoop, call) -> None:
    """As the pipe reader hands a batch to the loop: from a thread, whose context is empty."""
    thread = threading.Thread(target=loop.call_soon_threadsafe, args=(call,))
    thread.start()
    thread.join()


def test_the_bus_the_log_buffer_and_the_ticker_call_back_in_the_subscribers_context(tmp_path) -> None:
    async def run() -> dict[str, str]:
        loop = asyncio.get_running_loop()
        seen: dict[str, str] = {}
        bus = EventBus(AuditLog(tmp_path / "audit.log"), lambda _event: None)
        logs = LogBuffer()
        ticker = Ticker(interval=0.01)

        def subscribe() -> None:  # as the dashboard does from its on_mount
            WHO.set("the dashboard")
            bus.subscribe(lambda _events: seen.update(bus=WHO.get()))
            logs.listen(lambda: seen.update(logs=WHO.get()))
            ticker.subscribe(lambda: seen.update(ticker=WHO.get()) or 1000)

        contextvars.copy_context().run(subscribe)
        assert WHO.get() == "nobody"
        _from_a_thread(loop, lambda: bus.publish([Notice(level="info", message="hello")]))
        _from_a_thread(loop, lambda: logs.append("stdout", [b"a line"]))
        while len(seen) < 3:
            await asyncio.sleep(0.005)
        ticker.stop()
        return seen

    assert asyncio.run(run()) == {"bus": "the dashboard", "logs": "the dashboard", "ticker": "the dashboard"}


def test_a_subscriber_that_publishes_again_is_called_again(tmp_path) -> None:
    bus = EventBus(AuditLog(tmp_path / "audit.log"), lambda _event: None)
    calls: list[str] = []

    def subscriber(events) -> None:
        calls.append(events[0].message)
        if len(calls) == 1:
            bus.publish([Notice(level="info", message="second")])

    bus.subscribe(subscriber)
    bus.publish([Notice(level="info", message="first")])
    assert calls == ["first", "second"]
