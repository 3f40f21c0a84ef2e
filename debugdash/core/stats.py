"""Sampling the server's process tree with psutil: CPU, memory, threads, ports."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import psutil

from debugdash.core.ticker import TICK_SECONDS
from debugdash.protocol.events import Stats

#: Every how many seconds (at the first tick after them) exited orphans are
#: reaped: listing our children reads every process's /proc entry (about 10 ms
#: with 500 processes).
REAP_SECONDS = 10.0

#: Finding the tree's members reads every process on the machine, and listing
#: ports reads every open file of the tree: both change rarely, so they are
#: refreshed every few samples; the per-process figures every sample.
MEMBERS_EVERY = 5
PORTS_EVERY = 30


class TreeSampler:
    """Samples the tree under one root pid; keeps Process objects so CPU % is a rate."""

    def __init__(self, root_pid: int) -> None:
        self.root_pid = root_pid
        #: The serving worker, when it is not the root (a reloader parent we did
        #: not start): the figures are the worker's tree, cleanup still knows all.
        self.focus: int | None = None
        self._focus_pids: set[int] | None = None
        self._refresh = False
        self._procs: dict[int, psutil.Process] = {}
        self._ports: list[int] = []
        self._samples = 0

    def costly(self) -> bool:
        """Whether the next sample reads the whole machine's /proc (members, ports), not only the tree's."""
        return self._members_due() or self._ports_due()

    def _members_due(self) -> bool:
        return self._samples % MEMBERS_EVERY == 0 or not self._procs or self._refresh

    def _ports_due(self) -> bool:
        return self._samples % PORTS_EVERY == 0 or (not self._ports and self._samples < PORTS_EVERY)

    def sample(self) -> Stats | None:
        """A Stats event, or None when the root is gone."""
        if self._members_due():
            self._refresh = False
            try:
                root = psutil.Process(self.root_pid)
                current = [root, *root.children(recursive=True)]
            except psutil.Error:
                return None
            self._focus_pids = self._worker_pids(current)
        else:
            current = list(self._procs.values())
        procs: dict[int, psutil.Process] = {}
        cpu = 0.0
        rss = threads = 0
        for proc in current:
            proc = self._procs.get(proc.pid, proc)
            if self._focus_pids is not None and proc.pid not in self._focus_pids:
                procs[proc.pid] = proc
                continue
            try:
                with proc.oneshot():
                    cpu += proc.cpu_percent(None)
                    rss += proc.memory_info().rss
                    threads += proc.num_threads()
            except psutil.Error:
                if proc.pid == self.root_pid:
                    return None
                self._samples = -1  # a member left: look for the tree anew next time
                continue
            procs[proc.pid] = proc
        self._procs = procs
        if self._ports_due():
            self._ports = self._listening_ports()
        self._samples += 1
        shown = procs if self._focus_pids is None else self._focus_pids & procs.keys()
        return Stats(pids=sorted(shown), cpu_percent=round(cpu, 1), rss=rss, threads=threads, ports=self._ports)

    def focus_on(self, pid: int) -> None:
        """Show the tree under ``pid`` (the serving worker) from the next sample on."""
        if pid != self.focus:
            self.focus = pid
            self._refresh = True

    def _worker_pids(self, tree: list[psutil.Process]) -> set[int] | None:
        if self.focus is None or self.focus == self.root_pid:
            return None
        pids = {proc.pid for proc in tree}
        if self.focus not in pids:
            return None
        try:
            return {self.focus, *(child.pid for child in psutil.Process(self.focus).children(recursive=True))}
        except psutil.Error:
            return None

    def known(self) -> list[psutil.Process]:
        """Every process of the tree seen in the last sample (for cleanup)."""
        return list(self._procs.values())

    def _listening_ports(self) -> list[int]:
        ports: set[int] = set()
        for proc in self._procs.values():
            try:
                for conn in proc.net_connections(kind="inet"):
                    if conn.status == psutil.CONN_LISTEN and conn.laddr:
                        ports.add(conn.laddr.port)
            except psutil.Error:
                continue
        return sorted(ports)


#: While samples come out the same and no request comes, the gap between them doubles up to
#: this many ticks.
QUIET_EVERY = 8
#: Samples this close count as the same (CPU in percentage points of a core, memory in bytes).
STEADY_CPU_POINTS = 2.0
STEADY_RSS_BYTES = 1_000_000


class StatsTicks:
    """Sample the running server on the session's ``Ticker``; now and then reap adopted orphans.

    A sample of the known processes (a few /proc reads, ~0.3 ms) runs right in
    the tick; one that reads the whole machine's /proc runs in a thread, so a
    busy machine does not hold up the dashboard. An idle server gives the same
    figures every second: while it does, samples are taken every 2, 4, then
    ``QUIET_EVERY`` ticks; a changed figure, a request served, or a new server
    brings back one a tick. (CPU % is then the average since the last sample.) Each tick answers
    how many ticks the next sample is away, so the ticker sleeps until then.
    """

    def __init__(
        self,
        sampler: Callable[[], TreeSampler | None],
        publish: Callable[[Stats], None],
        reap: Callable[[], None],
        spawn: Callable[[Any], Any],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sampler = sampler
        self._publish = publish
        self._reap = reap
        self._spawn = spawn
        self._clock = clock
        self._reaped = clock()
        self._in_thread = False
        self._every = 1
        self._next = 0.0  # when (on the clock) the next sample is due
        self._last: tuple[Any, ...] | None = None
        self._sampled: TreeSampler | None = None

    def tick(self) -> int:
        """Sample if due; returns the ticks until the next sample is."""
        now = self._clock()
        if now - self._reaped >= REAP_SECONDS:
            # Orphans re-parented to us (as subreaper) must not pile up as zombies.
            self._reaped = now
            self._reap()
        current = self._sampler()
        if current is None:
            return QUIET_EVERY  # a new server asks for its first sample itself (Ticker.within)
        if self._in_thread:
            return 1
        if current is not self._sampled:
            self._sampled, self._every, self._last, self._next = current, 1, None, now
        # Ticks fall on whole seconds and samples a hair after them: half a tick early is on time.
        if now < self._next - TICK_SECONDS / 2:
            return max(1, round((self._next - now) / TICK_SECONDS))
        if current.costly():
            self._in_thread = True
            self._spawn(self._sample_in_thread(current))
            return 1
        self._done(current.sample())
        return self._every

    async def _sample_in_thread(self, current: TreeSampler) -> None:
        try:
            stats = await asyncio.to_thread(current.sample)
        finally:
            self._in_thread = False
        self._done(stats)

    def busy(self) -> bool:
        """The server is serving requests: sample every tick from now. Whether that is
        sooner than planned (the ticker should then wake at the next tick)."""
        if self._every == 1:
            return False
        self._every = 1
        self._next = self._clock()
        return True

    def _done(self, stats: Stats | None) -> None:
        if stats is None:
            return
        # Unchanged as a glance sees it: an idle server's CPU wobbles by a point or so
        # (more on a small VM, where each of its wake-ups is charged milliseconds) and
        # its memory by a few hundred kB; that must not keep the sampling, and the
        # wake-ups it costs, at one a second. The figures are shown exactly all the same.
        last = self._last
        steady = (
            last is not None
            and (stats.pids, stats.threads, stats.ports) == last[0]
            and abs(stats.cpu_percent - last[1]) < STEADY_CPU_POINTS
            and abs(stats.rss - last[2]) < STEADY_RSS_BYTES
        )
        self._every = min(self._every * 2, QUIET_EVERY) if steady else 1
        self._last = ((stats.pids, stats.threads, stats.ports), stats.cpu_percent, stats.rss)
        self._next = self._clock() + self._every * TICK_SECONDS
        self._publish(stats)
