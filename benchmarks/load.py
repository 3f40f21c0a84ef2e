"""A small loopback HTTP/1.1 load generator: keep-alive connections on raw sockets.

Each of ``concurrency`` threads owns one keep-alive connection and sends a
fixed share of the requests, one at a time. Raw sockets instead of
``http.client`` keep the generator's own CPU cost per request small (its
threads mostly wait in ``recv`` with the GIL released), so on a 2-core machine
the server, not the generator, is what runs out of CPU. The same generator
drives plain ``flask run`` and debugdash, so whatever it costs, it costs both.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    seconds: float
    requests: int
    statuses: dict[int, int] = field(default_factory=dict)
    failures: int = 0
    #: CPU seconds the generator itself used (all its threads).
    generator_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


class _Connection:
    def __init__(self, port: int, timeout: float) -> None:
        self.port = port
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buffer = b""

    def _open(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        return sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def request(self, data: bytes) -> int:
        """Send one request, read the whole response; returns its status."""
        if self.sock is None:
            self.sock = self._open()
        sock = self.sock
        sock.sendall(data)
        while b"\r\n\r\n" not in self.buffer:
            self._recv()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = None
        close = lines[0].startswith(b"HTTP/1.0")
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                close = value.strip().lower() == b"close"
        if length is None:
            # No length: the body ends with the connection.
            self.buffer = rest
            try:
                while self._recv():
                    pass
            except ConnectionError:
                pass
            self.close()
            return status
        self.buffer = rest
        while len(self.buffer) < length:
            self._recv()
        self.buffer = self.buffer[length:]
        if close:
            self.close()
        return status

    def _recv(self) -> bool:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            if b"\r\n\r\n" in self.buffer or not self.buffer:
                raise ConnectionError("closed by the server")
            return False
        self.buffer += chunk
        return True


def run_load(port: int, path: str, total: int, concurrency: int = 8, timeout: float = 30.0) -> LoadResult:
    """Send ``total`` GETs for ``path`` over ``concurrency`` keep-alive connections; time them."""
    data = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: debugdash-bench\r\n\r\n".encode()
    shares = [total // concurrency + (1 if i < total % concurrency else 0) for i in range(concurrency)]
    statuses: list[dict[int, int]] = [{} for _ in range(concurrency)]
    failures = [0] * concurrency
    start = threading.Barrier(concurrency + 1)

    def worker(index: int) -> None:
        conn = _Connection(port, timeout)
        counts = statuses[index]
        try:
            conn.sock = conn._open()
        except OSError:
            failures[index] += shares[index]
            start.wait()
            return
        start.wait()
        for _ in range(shares[index]):
            try:
                status = conn.request(data)
            except (OSError, ValueError, IndexError):
                failures[index] += 1
                conn.close()
                continue
            counts[status] = counts.get(status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    cpu0 = _cpu()
    start.wait()
    t0 = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - t0
    merged: dict[int, int] = {}
    for counts in statuses:
        for status, count in counts.items():
            merged[status] = merged.get(status, 0) + count
    return LoadResult(
        seconds=seconds,
        requests=sum(merged.values()),
        statuses=merged,
        failures=sum(failures),
        generator_cpu=_cpu() - cpu0,
    )


def _cpu() -> float:
    times = os.times()
    return times.user + times.system
