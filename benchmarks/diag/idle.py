"""Idle CPU of the dashboard with candidate fixes applied (diagnosis, not a benchmark).

    python benchmarks/diag/idle.py SECONDS PATCHSET [PATCHSET...]   # PATCHSET: "-" or "a,b"
    python benchmarks/diag/idle.py SECONDS --profile PATCHSET

Each patch set runs the real dashboard in a pty on the benchmark app and
reports its process's CPU over SECONDS of idle; --profile also prints where
that CPU went.
"""

from __future__ import annotations

import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[2])

from benchmarks.harness import Workspace, free_port, wait_port_free  # noqa: E402
from benchmarks.pty_dashboard import Dashboard, cpu_of  # noqa: E402

WRAPPER = Path(__file__).resolve().parent / "dash_patched.py"


def measure(ws: Workspace, seconds: float, patchset: str, profile: str | None = None) -> tuple[float, float]:
    env = ws.env()
    if profile:
        env["DEBUGDASH_BENCH_PROFILE"] = profile
    port = free_port()
    with Dashboard(port, cwd=ws.app_dir(f"app-{time.monotonic_ns()}"), env=env, command=[sys.executable, str(WRAPPER), patchset]) as dash:
        dash.wait_ready()
        time.sleep(3)
        root, _ = dash.processes()
        cpu0, bytes0 = cpu_of([root]), dash.bytes_out
        t0 = time.perf_counter()
        time.sleep(seconds)
        elapsed = time.perf_counter() - t0
        result = 100 * (cpu_of([root]) - cpu0) / elapsed, (dash.bytes_out - bytes0) / elapsed
    wait_port_free(port)
    return result


def main() -> None:
    seconds = float(sys.argv[1])
    ws = Workspace()
    try:
        if sys.argv[2] == "--profile":
            path = os.path.join(tempfile.mkdtemp(), "idle.prof")
            cpu, rate = measure(ws, seconds, sys.argv[3], profile=path)
            print(f"{sys.argv[3]}: {cpu:.2f} % of a core, {rate:.0f} B/s to the terminal")
            out = io.StringIO()
            pstats.Stats(path, stream=out).sort_stats("tottime").print_stats(25)
            print(out.getvalue())
            return
        for patchset in sys.argv[2:]:
            cpu, rate = measure(ws, seconds, patchset)
            print(f"{patchset:40} {cpu:5.2f} % of a core, {rate:6.0f} B/s to the terminal", flush=True)
    finally:
        ws.cleanup()


if __name__ == "__main__":
    main()
