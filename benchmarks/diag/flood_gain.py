"""The flood scenario with candidate fixes applied (diagnosis, not a benchmark).

    python benchmarks/diag/flood_gain.py LINES REPS PATCHSET [PATCHSET...]

For each patch set ("-" for none): debugdash --headless (text and --json,
output to a file) and the dashboard probe, against plain `flask run` to a
file in the same loop. Prints medians in seconds.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[2])

from benchmarks import scenarios  # noqa: E402
from benchmarks.harness import Server, Workspace, debugdash_command, free_port  # noqa: E402

WRAPPER = Path(__file__).resolve().parent / "dash_patched.py"


def main() -> None:
    lines, reps, patchsets = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    ws = Workspace()
    try:
        app_dir = ws.app_dir("app")
        results: dict[str, list[float]] = {}
        for rep in range(reps):
            results.setdefault("plain", []).append(scenarios._flood_cli(ws, "plain", app_dir, lines))
            for patchset in patchsets:
                original = scenarios._server

                def patched(ws_, side, app_dir_, *, extra=(), json_output=False, _p=patchset):
                    port = free_port()
                    command = [sys.executable, str(WRAPPER), _p, *debugdash_command(port, extra=extra, json_output=json_output)[1:]]
                    return Server(side, command, cwd=app_dir_, env=ws_.env(), port=port, out=ws_.out_file(side))

                scenarios._server = patched
                try:
                    results.setdefault(f"{patchset} headless", []).append(scenarios._flood_cli(ws, "debugdash", app_dir, lines))
                    results.setdefault(f"{patchset} json", []).append(scenarios._flood_cli(ws, "debugdash", app_dir, lines, json_output=True))
                finally:
                    scenarios._server = original
                env_patch = {"DEBUGDASH_BENCH_PATCHES": patchset}
                saved = ws.env
                ws.env = lambda: {**saved(), **env_patch}  # type: ignore[method-assign]
                try:
                    probe = scenarios._probe(ws, "flood", lines, f"app-dash-{rep}-{len(results)}", timeout=600)
                finally:
                    ws.env = saved  # type: ignore[method-assign]
                results.setdefault(f"{patchset} dashboard", []).append(probe["consumed"])
                keys = sorted(probe["key_latency"])
                print(f"  {patchset} dashboard: keys p50 {1000 * keys[len(keys) // 2]:.0f} ms, max {1000 * keys[-1]:.0f} ms, RSS +{(probe['rss_after'] - probe['rss_before']) / 2**20:.1f} MB", flush=True)
        plain = statistics.median(results["plain"])
        for name, values in results.items():
            value = statistics.median(values)
            print(f"{name:40} {value:6.2f} s  ({value / plain:.2f} x plain)", flush=True)
    finally:
        ws.cleanup()


if __name__ == "__main__":
    main()
