"""The session's ticker: everything that moves with time in one wake-up, the
sample before what shows it, a failing subscriber not stopping the clock of the
others; no wake-up before some subscriber needs one; stats sampled less often
while nothing changes."""

from __future__ import annotations

import asyncio

from debugdash.core.stats import QUIET_EVERY, StatsTicks
from debugdash.core.ticker import Ticker
from debugdash.protocol.events import Stats


async def _until(predicate, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "the ticker did not tick"
        await asyncio.sleep(0.005)


def test_subscribers_tick_together_first_ones_first_and_one_failing_stops_no_one() -> None:
    async def run() -> None:
        loop = asyncio.get_running_loop()
        failures: list[object] = []
        loop.set_exception_handler(lambda _loop, context: failures.append(context.get("exception")))
        calls: list[tuple[str, bool]] = []
        turn = {"open": False}
        ticker = Ticker(interval=0.05)

        def samples() -> None:
            turn["open"] = True
            loop.call_soon(turn.update, {"open": False})  # runs on the loop's next turn
            calls.append(("samples", True))

        def failing() -> None:
            raise RuntimeError("a subscriber broke")

        ticker.subscribe(lambda: calls.append(("shows", turn["open"])))
        ticker.subscribe(failing)
        ticker.subscribe(samples, first=True)
        await _until(lambda: len(calls) >= 6)
        ticker.stop()
        names = [name for name, _ in calls[:6]]
        assert names == ["samples", "shows"] * 3
        # The two of a tick ran in the same turn of the loop: one wake-up.
        assert all(same_turn for _, same_turn in calls[:6])
        assert failures and all(isinstance(f, RuntimeError) for f in failures)

    asyncio.run(run())


def test_an_unsubscribed_callback_is_not_called_again_and_the_ticker_restarts_on_demand() -> None:
    async def run() -> None:
        ticker = Ticker(interval=0.02)
        first: list[int] = []
        undo = ticker.subscribe(lambda: first.append(1))
        await _until(lambda: len(first) >= 2)
        undo()
        seen = len(first)
        second: list[int] = []
        ticker.subscribe(lambda: second.append(1))
        await _until(lambda: len(second) >= 3)
        assert len(first) == seen
        ticker.stop()

    asyncio.run(run())


class _Sampler:
    """Stands for a TreeSampler: figures set by the test, never a costly sample."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.rss = 40_000_000

    def costly(self) -> bool:
        return False

    def sample(self) -> Stats:
        return Stats(pids=[7], cpu_percent=self.cpu, rss=self.rss, threads=3, ports=[5000])


def test_the_ticker_sleeps_as_long_as_every_subscriber_can_wait_and_wakes_sooner_when_asked() -> None:
    async def run() -> None:
        loop = asyncio.get_running_loop()
        ticker = Ticker(interval=0.05)
        slow: list[float] = []
        needs = {"slow": 4}

        def slow_one() -> int:
            slow.append(loop.time())
            return needs["slow"]

        ticker.subscribe(slow_one)
        await _until(lambda: len(slow) >= 3)
        gaps = [round((b - a) / ticker.interval) for a, b in zip(slow, slow[1:])]
        assert gaps[-1] == 4, f"woke every {gaps} ticks although its subscriber needed one every 4"
        # A second subscriber needing every tick wakes everyone every tick.
        fast: list[float] = []
        ticker.subscribe(lambda: fast.append(loop.time()))
        await _until(lambda: len(fast) >= 4)
        assert round((fast[-1] - fast[-2]) / ticker.interval) == 1
        ticker.stop()

        # within(): a need that changed between ticks is met at the next tick, not the planned one.
        ticker = Ticker(interval=0.05)
        needs["slow"] = 1000
        slow.clear()
        ticker.subscribe(slow_one)
        await _until(lambda: len(slow) >= 1)
        asked = loop.time()
        ticker.within(1)
        await _until(lambda: len(slow) >= 2, timeout=5.0)
        assert slow[1] - asked <= 2 * ticker.interval + 0.05
        ticker.stop()

    asyncio.run(run())


def _stats_ticks(sampler, now: list[float], published: list) -> StatsTicks:
    return StatsTicks(lambda: sampler[0], lambda stats: published.append((now[0], stats.cpu_percent)), lambda: None, lambda _: None, clock=lambda: now[0])


def test_stats_come_every_tick_while_they_change_and_less_often_while_they_do_not() -> None:
    serving = [_Sampler()]
    published: list[tuple[float, float]] = []
    now = [0.0]
    ticks = _stats_ticks(serving, now, published)
    waits: list[int] = []
    for tick in range(1, 26):
        now[0] = float(tick)
        waits.append(ticks.tick())
    # The same figures: every tick, then every 2, 4, then every QUIET_EVERY (8).
    assert QUIET_EVERY == 8
    assert [t for t, _ in published] == [1, 2, 4, 8, 16, 24]
    # Each tick says how long the ticker may sleep: up to the next sample.
    assert waits[:5] == [1, 2, 1, 4, 3], waits
    serving[0].cpu = 12.5
    for tick in range(26, 33):
        now[0] = float(tick)
        ticks.tick()
    # A change is seen within QUIET_EVERY ticks, and then every tick again.
    assert [t for t, _ in published][6:] == [32]
    serving[0].cpu = 30.0
    now[0] = 33.0
    ticks.tick()
    assert published[-1] == (33, 30.0)
    for tick in range(34, 38):
        now[0] = float(tick)
        ticks.tick()
    # A new server (a reload) is sampled on the next tick, however quiet the last one was.
    serving[0] = _Sampler()
    serving[0].cpu = 1.0
    now[0] = 38.0
    ticks.tick()
    assert published[-1] == (38, 1.0)


def test_an_idle_servers_wobble_of_a_point_of_cpu_or_some_kilobytes_still_backs_off() -> None:
    serving = [_Sampler()]
    published: list[tuple[float, float]] = []
    now = [0.0]
    ticks = _stats_ticks(serving, now, published)
    wobble = [0.0, 1.2, 0.3, 1.5, 0.0, 0.9]
    for tick in range(1, 17):
        now[0] = float(tick)
        serving[0].cpu = wobble[tick % len(wobble)]
        serving[0].rss = 40_000_000 + 300_000 * (tick % 2)
        ticks.tick()
    assert [t for t, _ in published] == [1, 2, 4, 8, 16], "a CPU figure moving by about a point is an idle server"


def test_a_request_brings_the_stats_back_to_every_tick_at_once() -> None:
    serving = [_Sampler()]
    published: list[tuple[float, float]] = []
    now = [0.0]
    ticks = _stats_ticks(serving, now, published)
    for tick in range(1, 17):
        now[0] = float(tick)
        ticks.tick()
    assert [t for t, _ in published] == [1, 2, 4, 8, 16]
    now[0] = 17.2
    assert ticks.busy(), "backed off: the ticker must be asked to wake sooner"
    assert not ticks.busy(), "already every tick: nothing to ask"
    now[0] = 18.0
    ticks.tick()
    assert published[-1][0] == 18.0, "sampled at the next tick, not 8 ticks after the last sample"
