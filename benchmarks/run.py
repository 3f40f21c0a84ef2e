"""debugdash against plain `flask run`, side by side, in one run (issue 6).

    .venv/bin/python benchmarks/run.py            # everything, < 10 minutes on 2 cores
    .venv/bin/python benchmarks/run.py --quick    # fewer repetitions and smaller loads, < 2 minutes
    .venv/bin/python benchmarks/run.py --only flood,idle

Prints a table of medians and debugdash/plain ratios, writes
benchmarks/RESULTS.md (with the machine's description and the hand-written
findings in benchmarks/FINDINGS.md), and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import compileall
import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

# Run as a script: import from the repository root, not from benchmarks/ (whose names could shadow the stdlib).
sys.path[0] = str(Path(__file__).resolve().parents[1])

import psutil  # noqa: E402

from benchmarks.harness import BENCH_DIR, REPO, Workspace  # noqa: E402
from benchmarks.scenarios import SCENARIOS, Outcome, Row  # noqa: E402
from benchmarks.heavy import SCENARIOS as ISSUE_15  # noqa: E402

SCENARIOS.update(ISSUE_15)

RESULTS = BENCH_DIR / "RESULTS.md"
FINDINGS = BENCH_DIR / "FINDINGS.md"


def machine() -> dict[str, str]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in ("flask", "werkzeug", "textual", "rich", "psutil", "debugpy", "click", "debugdash"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    try:
        watchdog = importlib.metadata.version("watchdog")
    except importlib.metadata.PackageNotFoundError:
        watchdog = "not installed (Werkzeug's reloader is the stat one)"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "debugdash"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {psutil.cpu_count(logical=False)} cores / {psutil.cpu_count()} threads",
        "ram": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "packages": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "watchdog": watchdog,
        # Both sides inherit these; the output flood depends on the first (a write per print() under plain).
        "environment": ", ".join(f"{name}={os.environ.get(name, '(unset)')}" for name in ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE")),
        "debugdash commit": commit + (" + uncommitted changes in debugdash/" if dirty else ""),
    }


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if unit in ("req/s", "B/s"):
        return f"{value:,.0f}"
    if unit in ("ms", "MB"):
        return f"{value:.1f}"
    if unit == "s" and value >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}" if unit == "s" else f"{value:.2f}"


def _verdict(row: Row) -> str:
    if row.passed is None:
        return "info"
    return "PASS" if row.passed else "MISS"


def table(rows: list[Row]) -> list[list[str]]:
    header = ["scenario", "metric", "unit", "plain", "debugdash", "ratio", "target", "result"]
    body = [
        [r.scenario, r.metric, r.unit, _fmt(r.plain, r.unit), _fmt(r.debugdash, r.unit), _fmt(r.ratio, "x"), r.target, _verdict(r)]
        for r in rows
    ]
    return [header, *body]


def print_table(rows: list[Row]) -> None:
    data = table(rows)
    widths = [min(max(len(line[i]) for line in data), 60) for i in range(len(data[0]))]
    for index, line in enumerate(data):
        print("  ".join(cell[:60].ljust(width) for cell, width in zip(line, widths)))
        if index == 0:
            print("  ".join("-" * width for width in widths))


def markdown(rows: list[Row], outcomes: dict[str, Outcome], info: dict[str, str], args: argparse.Namespace, seconds: float, load: tuple[tuple[float, ...], tuple[float, ...]], errors: dict[str, str]) -> str:
    data = table(rows)
    lines = [
        "# debugdash benchmarks: results",
        "",
        "Written by `benchmarks/run.py`; do not edit by hand (the findings at the end come from `benchmarks/FINDINGS.md`).",
        "",
        f"Command: `.venv/bin/python benchmarks/run.py{' --quick' if args.quick else ''}{' --only ' + args.only if args.only else ''}` — took {seconds:.0f} s.",
        "",
        "## Machine",
        "",
        *[f"- **{k}**: {v}" for k, v in info.items()],
        f"- **load average** at start {', '.join(f'{x:.2f}' for x in load[0])}; at end {', '.join(f'{x:.2f}' for x in load[1])}"
        " (the machine is shared: other work ran alongside; repetitions alternate sides so it hits both)",
        "",
        "## Results",
        "",
        "Medians over repetitions. ratio = debugdash / plain (for absolute targets: the value itself).",
        "",
        "| " + " | ".join(data[0]) + " |",
        "|" + "|".join("---" for _ in data[0]) + "|",
        *["| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |" for line in data[1:]],
        "",
    ]
    if errors:
        lines += ["## Scenarios that failed to run", ""]
        lines += [f"- **{name}**: `{message}`" for name, message in errors.items()]
        lines.append("")
    lines += ["## Notes and raw samples", ""]
    for name, outcome in outcomes.items():
        lines.append(f"### {name}")
        lines.append("")
        lines += [f"- {note}" for note in outcome.notes]
        lines += ["", "```json", json.dumps(_rounded(outcome.samples), indent=None)[:6000], "```", ""]
    if FINDINGS.exists():
        lines += [FINDINGS.read_text().rstrip(), ""]
    return "\n".join(lines)


def _rounded(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {str(k): _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and smaller loads (< 2 minutes)")
    parser.add_argument("--only", help=f"comma-separated scenarios: {', '.join(SCENARIOS)}")
    parser.add_argument("--no-write", action="store_true", help="print the table only; leave RESULTS.md alone")
    args = parser.parse_args(argv)
    names = list(SCENARIOS)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in SCENARIOS]
        if unknown:
            parser.error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    # As `pip install` does: this checkout is an editable install, and with
    # PYTHONDONTWRITEBYTECODE set every process would compile debugdash from source
    # (measured ~0.1 s of CPU per process), while plain's Flask has its bytecode.
    compileall.compile_dir(str(REPO / "debugdash"), quiet=1)
    info = machine()
    load_start = os.getloadavg()
    started = time.perf_counter()
    ws = Workspace()
    outcomes: dict[str, Outcome] = {}
    errors: dict[str, str] = {}
    try:
        for name in names:
            print(f"== {name}", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            try:
                outcomes[name] = SCENARIOS[name](ws, args.quick)
            except Exception as e:  # one broken scenario must not hide the others' numbers
                traceback.print_exc()
                errors[name] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            print(f"   ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    finally:
        ws.cleanup()
    seconds = time.perf_counter() - started
    rows = [row for outcome in outcomes.values() for row in outcome.rows]
    print()
    print_table(rows)
    for name, message in errors.items():
        print(f"FAILED TO RUN: {name}: {message}")
    print(f"\n{seconds:.0f} s")
    if not args.no_write:
        RESULTS.write_text(markdown(rows, outcomes, info, args, seconds, (load_start, os.getloadavg()), errors))
        print(f"wrote {RESULTS.relative_to(REPO)}")
    missed = [r for r in rows if r.passed is False]
    return 1 if missed or errors else 0


if __name__ == "__main__":
    sys.exit(main())
