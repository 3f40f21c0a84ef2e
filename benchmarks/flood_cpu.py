"""Where the flood's time goes: CPU of each process while the app prints N lines.

    .venv/bin/python benchmarks/flood_cpu.py [--lines 1000000] [--reps 3] [--sides plain,text,json]
                                             [--pythonpath DIR] [--profile]

Runs scenario 6's flood (``/flood`` of ``benchmarks/apps/bench_app.py``, output
to a file) on each side — plain ``flask run``, ``debugdash --headless``,
``debugdash --headless --json`` — and prints, per side, the medians of the
wall time to the last line in the file and of the CPU seconds (user + system)
spent meanwhile by the supervisor and by the server's processes. On two cores
the app and the supervisor run side by side, so the flood goes at the pace of
the slower one: compare the supervisor's CPU with the worker's. CPU seconds
hold on a busy machine where wall times do not. ``--pythonpath`` imports
debugdash from another tree (an exported older commit) to compare;
``--profile`` samples the supervisor with py-spy (``--gil``: Python only).
A diagnosis tool for FINDINGS.md, not a benchmark: the ratios come from run.py.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks import harness  # noqa: E402
from benchmarks.cpu_split import _times, _top  # noqa: E402
from benchmarks.harness import Server, Workspace, debugdash_command, free_port, get, plain_command, wait_port_free  # noqa: E402


def _cpu(server: Server) -> dict[int, float]:
    return {proc.pid: sum(_times(proc)) for proc in server.tree()}


def _flood(ws: Workspace, app: Path, side: str, lines: int, pythonpath: str | None, profile: Path | None) -> tuple[float, float, float]:
    """(wall seconds, supervisor CPU seconds, server processes' CPU seconds) of one flood."""
    port = free_port()
    command = plain_command(port) if side == "plain" else debugdash_command(port, json_output=side == "json")
    env = ws.env()
    if pythonpath and side != "plain":
        env["PYTHONPATH"] = pythonpath
    with Server(side, command, cwd=app, env=env, port=port, out=ws.out_file(side)) as server:
        server.wait_ready()
        server.settle()  # debugdash's template and spare start after the first response
        spy = None
        if profile is not None and side != "plain":
            spy_bin = str(Path(sys.executable).parent / "py-spy")
            spy = subprocess.Popen([spy_bin, "record", "--pid", str(server.proc.pid), "--format", "raw", "--rate", "500", "--gil",
                                    "--output", str(profile), "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
        tag = f"t{random.randrange(10**9)}"
        before = _cpu(server)
        t0 = time.perf_counter()
        request = threading.Thread(target=get, args=(port, f"/flood?n={lines}&tag={tag}", 600.0), daemon=True)
        request.start()
        deadline = t0 + 60 + lines / 5000
        while not harness.file_tail_contains(server.out, f"FLOOD-DONE {tag}".encode(), 8192):
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{side}: flood not consumed:\n{server.tail()}")
            time.sleep(0.01)
        wall = time.perf_counter() - t0
        after = _cpu(server)
        request.join(timeout=60)
        if spy is not None:
            spy.send_signal(2)
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy.wait(timeout=30)
    wait_port_free(port)
    root = server.proc.pid
    used = {pid: cpu - before.get(pid, 0.0) for pid, cpu in after.items()}
    supervisor = used.pop(root) if side != "plain" else 0.0
    return wall, supervisor, sum(used.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--sides", default="plain,text,json")
    parser.add_argument("--pythonpath", help="import debugdash from here (e.g. an exported older tree, to compare)")
    parser.add_argument("--profile", action="store_true", help="sample the supervisor with py-spy (last rep of each side)")
    args = parser.parse_args()
    sides = args.sides.split(",")
    ws = Workspace()
    out_dir = Path(tempfile.mkdtemp(prefix="debugdash-flood-cpu-"))
    results: dict[str, list[tuple[float, float, float]]] = {side: [] for side in sides}
    try:
        app = ws.app_dir("app-flood")
        for rep in range(args.reps):
            for side in sides if rep % 2 == 0 else reversed(sides):
                profile = out_dir / f"{side}.txt" if args.profile and rep == args.reps - 1 else None
                results[side].append(_flood(ws, app, side, args.lines, args.pythonpath, profile))
                wall, supervisor, server = results[side][-1]
                print(f"  rep {rep} {side:5s} wall {wall:.3f} s  supervisor {supervisor:.3f} s CPU  server {server:.3f} s CPU", file=sys.stderr)
        plain = statistics.median(r[0] for r in results["plain"]) if "plain" in results else None
        print(f"{args.lines:,} lines, medians of {args.reps}:")
        for side, runs in results.items():
            wall, supervisor, server = (statistics.median(r[i] for r in runs) for i in range(3))
            ratio = f"  ({wall / plain:.2f}x plain)" if plain else ""
            print(f"  {side:5s} wall {wall:.3f} s{ratio}  supervisor {supervisor:.3f} s CPU"
                  f" ({1e9 * supervisor / args.lines:.0f} ns/line)  server {server:.3f} s CPU")
        for side in sides:
            raw = out_dir / f"{side}.txt"
            if raw.exists():
                print(f"\n== py-spy, supervisor, {side}")
                print("\n".join(_top(raw)))
    finally:
        ws.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
