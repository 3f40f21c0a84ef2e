"""The throughput scenario for plain `flask run` and two debugdash trees, alternating in one run.

    git archive <commit> | tar -x -C /tmp/before
    .venv/bin/python benchmarks/ab_throughput.py --before /tmp/before [--reps 5] [-n 4000]

A diagnosis tool for FINDINGS.md, like ``cpu_split.py``: on a shared machine the
rate ratio of two runs of ``run.py`` swings more than a change of 1 %; here the
before and after trees take turns with plain under the same load, and the
supervisor's CPU per request (which the worker does not share) is printed too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

import psutil  # noqa: E402

from benchmarks.harness import Server, Workspace, debugdash_command, free_port, plain_command, wait_port_free  # noqa: E402
from benchmarks.load import run_load  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="a debugdash tree to compare with this one")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("-n", type=int, default=4000)
    parser.add_argument("--path", default="/json")
    args = parser.parse_args()
    trees = {"before": args.before, "after": str(Path(__file__).resolve().parents[1])}
    sides = ["plain", *trees]
    rates: dict[str, list[float]] = {side: [] for side in sides}
    cpu: dict[str, list[float]] = {side: [] for side in sides}
    supervisor: dict[str, list[float]] = {side: [] for side in trees}
    ws = Workspace()
    app_dir = ws.app_dir("app")
    try:
        for rep in range(args.reps):
            for side in sides[rep % 3:] + sides[: rep % 3]:
                port = free_port()
                env = ws.env()
                if side == "plain":
                    command = plain_command(port)
                else:
                    command = debugdash_command(port)
                    env["PYTHONPATH"] = trees[side]
                with Server(side, command, cwd=app_dir, env=env, port=port, out=ws.out_file(side)) as server:
                    server.wait_ready()
                    run_load(port, args.path, args.n // 10)
                    server.settle()
                    root = psutil.Process(server.proc.pid)
                    root0, cpu0 = sum(root.cpu_times()[:2]), server.cpu_seconds()
                    result = run_load(port, args.path, args.n)
                    used = server.cpu_seconds() - cpu0
                    if side != "plain":
                        supervisor[side].append(1e6 * (sum(root.cpu_times()[:2]) - root0) / result.requests)
                wait_port_free(port)
                rates[side].append(result.rate)
                cpu[side].append(1000 * used / result.requests)
                print(f"rep {rep} {side}: {result.rate:.0f} req/s, {1000 * used / result.requests:.3f} s of CPU per 1k", flush=True)
    finally:
        ws.cleanup()
    plain_rate, plain_cpu = statistics.median(rates["plain"]), statistics.median(cpu["plain"])
    for side in trees:
        print(f"{side}: rate {statistics.median(rates[side]) / plain_rate:.3f}× plain, CPU {statistics.median(cpu[side]) / plain_cpu:.3f}×, "
              f"supervisor {statistics.median(supervisor[side]):.1f} µs per request {[round(x, 1) for x in supervisor[side]]}")
    print(f"plain's rates: {[round(x) for x in rates['plain']]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
