"""Memory of the server side over 100,000 requests with request records on (issue 12, acceptance 5).

    .venv/bin/python benchmarks/request_memory.py [-n 100000] [--path /json] [--limit-mb 40]

Serves ``benchmarks/apps/bench_app.py`` under debugdash (headless, output to a
file), sends ``-n`` requests with the benchmark's load generator in steps, and
prints the resident memory of the supervisor and of the serving worker after
each step. Every request leaves a record in the worker's ring (bounded in count
and bytes) and in the supervisor's store (bounded in count): once both are
full, memory must stop growing. The growth after the first step (when the
bounds are reached) is compared with ``--limit-mb``; exits 1 above it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

import psutil  # noqa: E402

from benchmarks.harness import Server, Workspace, debugdash_command, free_port, wait_port_free  # noqa: E402
from benchmarks.load import run_load  # noqa: E402

STEPS = 10


def _rss_mb(proc: psutil.Process) -> float:
    try:
        return proc.memory_info().rss / 2**20
    except psutil.Error:
        return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--path", default="/json")
    parser.add_argument("--limit-mb", type=float, default=40.0, help="largest growth allowed after the first step")
    args = parser.parse_args()
    ws = Workspace()
    port = free_port()
    try:
        with Server("debugdash", debugdash_command(port), cwd=ws.app_dir("app"), env=ws.env(), port=port, out=ws.out_file("out")) as server:
            server.wait_ready()
            server.settle()
            supervisor = psutil.Process(server.proc.pid)
            step = args.n // STEPS
            rows: list[tuple[int, float, float]] = []
            sent = 0
            for _ in range(STEPS):
                result = run_load(port, args.path, step)
                sent += result.requests
                # The serving worker is the largest member below the supervisor (which may be larger).
                worker = max((proc for proc in server.tree() if proc.pid != supervisor.pid), key=_rss_mb)
                rows.append((sent, _rss_mb(supervisor), _rss_mb(worker)))
                print(f"{sent:>8} requests  supervisor {rows[-1][1]:6.1f} MB  worker {rows[-1][2]:6.1f} MB", flush=True)
        wait_port_free(port)
    finally:
        ws.cleanup()
    first, last = rows[0], rows[-1]
    growth = (last[1] - first[1]) + (last[2] - first[2])
    verdict = "PASS" if growth <= args.limit_mb else "MISS"
    print(f"growth from {first[0]:,} to {last[0]:,} requests: {growth:+.1f} MB (supervisor {last[1] - first[1]:+.1f}, "
          f"worker {last[2] - first[2]:+.1f}); limit {args.limit_mb:g} MB: {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
