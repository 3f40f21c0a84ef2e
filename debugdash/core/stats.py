"""Sampling the server's process tree with psutil: CPU, memory, threads, ports."""

from __future__ import annotations

import psutil

from debugdash.protocol.events import Stats

#: Finding the tree's members reads every process on the machine, and listing
#: ports reads every open file of the tree: both change rarely, so they are
#: refreshed every few samples; the per-process figures every sample.
MEMBERS_EVERY = 5
PORTS_EVERY = 30


class TreeSampler:
    """Samples the tree under one root pid; keeps Process objects so CPU % is a rate."""

    def __init__(self, root_pid: int) -> None:
        self.root_pid = root_pid
        self._procs: dict[int, psutil.Process] = {}
        self._ports: list[int] = []
        self._samples = 0

    def sample(self) -> Stats | None:
        """A Stats event, or None when the root is gone."""
        if self._samples % MEMBERS_EVERY == 0 or not self._procs:
            try:
                root = psutil.Process(self.root_pid)
                current = [root, *root.children(recursive=True)]
            except psutil.Error:
                return None
        else:
            current = list(self._procs.values())
        procs: dict[int, psutil.Process] = {}
        cpu = 0.0
        rss = threads = 0
        for proc in current:
            proc = self._procs.get(proc.pid, proc)
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
        if self._samples % PORTS_EVERY == 0 or (not self._ports and self._samples < PORTS_EVERY):
            self._ports = self._listening_ports()
        self._samples += 1
        return Stats(pids=sorted(procs), cpu_percent=round(cpu, 1), rss=rss, threads=threads, ports=self._ports)

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
