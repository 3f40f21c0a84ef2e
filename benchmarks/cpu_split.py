"""Where the server side's CPU goes on the error path: per process, optionally profiled.

    .venv/bin/python benchmarks/cpu_split.py [--path /boom] [-n 3000] [--no-debugger] [--json] [--plain] [--profile] [--threads] [--pythonpath DIR]

Serves ``benchmarks/apps/bench_app.py`` under debugdash (headless, output to a
file) or plain ``flask run`` (``--plain``), warms it up, sends ``-n`` requests
with the benchmark's load generator and prints the CPU milliseconds per request
of each process of the tree (supervisor, worker, spare). ``--profile`` also
samples every process with py-spy (when installed) during the load and prints
each one's heaviest functions, by own time and by time including callees.
``--threads`` splits each process's CPU per thread (Linux ``/proc``; names from
``py-spy dump`` when installed): request threads, which end with their
request, are what is left of the process's total.
A diagnosis tool for FINDINGS.md, not a benchmark: the ratios come from run.py.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

import psutil  # noqa: E402

from benchmarks.harness import Server, Workspace, debugdash_command, free_port, plain_command, wait_port_free  # noqa: E402
from benchmarks.load import run_load  # noqa: E402


def _cpu(proc: psutil.Process) -> float:
    user, system = _times(proc)
    return user + system


def _times(proc: psutil.Process) -> tuple[float, float]:
    with contextlib.suppress(psutil.Error):
        times = proc.cpu_times()
        return times.user, times.system
    return 0.0, 0.0


def _thread_times(pid: int) -> dict[int, tuple[float, float]]:
    """User and system seconds of each live thread of ``pid``."""
    tick = os.sysconf("SC_CLK_TCK")
    times = {}
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
                times[int(tid)] = (int(fields[11]) / tick, int(fields[12]) / tick)
    return times


def _thread_names(pid: int, spy: str) -> dict[int, str]:
    if not Path(spy).exists():
        return {}
    dump = subprocess.run([spy, "dump", "--pid", str(pid)], capture_output=True, text=True).stdout
    return {int(m.group(1)): m.group(2) for m in re.finditer(r'Thread (\d+) \(\w+\): "([^"]*)"', dump)}


def _label(proc: psutil.Process, root: int) -> str:
    if proc.pid == root:
        return "root (debugdash supervisor / flask reloader parent)"
    with contextlib.suppress(psutil.Error):
        return f"pid {proc.pid}: {' '.join(proc.cmdline()[-4:])[:60]}"
    return f"pid {proc.pid}"


def _top(raw: Path, count: int = 30) -> list[str]:
    """Own and inclusive sample shares of the heaviest functions in py-spy's raw (collapsed) output."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    ours: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, samples = line.rpartition(" ")
        if not samples.isdigit():
            continue
        n = int(samples)
        total += n
        frames = [f.split(" (")[0] + " (" + f.split(" (")[-1].split("/")[-1] for f in stack.split(";") if f]
        if frames:
            own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
        for frame in {f for f in stack.split(";") if "debugdash/" in f}:
            ours[frame.split(" (")[0] + " (" + frame.split(" (")[-1]] += n
    if not total:
        return ["  (no samples)"]
    lines = [f"  {total} samples; own time:"]
    lines += [f"    {100 * n / total:5.1f} %  {name}" for name, n in own.most_common(count)]
    lines.append("  including callees:")
    lines += [f"    {100 * n / total:5.1f} %  {name}" for name, n in inclusive.most_common(count)]
    lines.append("  debugdash's own functions, including callees:")
    lines += [f"    {100 * n / total:5.1f} %  {name}" for name, n in ours.most_common(count)]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", default="/boom")
    parser.add_argument("-n", type=int, default=3000)
    parser.add_argument("--no-debugger", action="store_true")
    parser.add_argument("--json", action="store_true", help="debugdash --headless --json")
    parser.add_argument("--plain", action="store_true", help="plain flask run instead of debugdash")
    parser.add_argument("--pythonpath", help="import debugdash from here (e.g. an exported older tree, to compare)")
    parser.add_argument("--profile", action="store_true", help="sample every process with py-spy")
    parser.add_argument("--threads", action="store_true", help="CPU per thread of each process (Linux)")
    parser.add_argument("extra", nargs="*", help="more flags for both sides, after --, e.g. -- --no-reload")
    args = parser.parse_args()
    ws = Workspace()
    extra = (("--no-debugger",) if args.no_debugger else ()) + tuple(args.extra)
    port = free_port()
    command = plain_command(port, extra=extra) if args.plain else debugdash_command(port, extra=extra, json_output=args.json)
    out_dir = Path(tempfile.mkdtemp(prefix="debugdash-cpu-split-"))
    try:
        env = ws.env()
        if args.pythonpath:
            env["PYTHONPATH"] = args.pythonpath
        with Server("plain" if args.plain else "debugdash", command, cwd=ws.app_dir("app"), env=env, port=port, out=ws.out_file("out")) as server:
            server.wait_ready()
            run_load(port, args.path, max(200, args.n // 10))
            server.settle()
            procs = server.tree()
            spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
            names = {p.pid: _thread_names(p.pid, spy) for p in procs} if args.threads else {}
            before = {p.pid: _times(p) for p in procs}
            threads_before = {p.pid: _thread_times(p.pid) for p in procs} if args.threads else {}
            spies = []
            if args.profile and Path(spy).exists():
                for proc in procs:
                    raw = out_dir / f"{proc.pid}.txt"
                    spies.append((proc.pid, raw, subprocess.Popen(
                        [spy, "record", "--pid", str(proc.pid), "--format", "raw", "--rate", "1000", "--gil", "--output", str(raw), "--nonblocking"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    )))
            result = run_load(port, args.path, args.n)
            threads_after = {p.pid: _thread_times(p.pid) for p in procs} if args.threads else {}
            for _, _, spy_proc in spies:
                spy_proc.send_signal(2)
            for _, _, spy_proc in spies:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    spy_proc.wait(timeout=30)
            print(f"{result.requests} requests at {result.rate:.0f} req/s, statuses {result.statuses}, output {server.out.stat().st_size} bytes")
            total = 0.0
            for proc in procs:
                user, system = (now - then for now, then in zip(_times(proc), before[proc.pid]))
                total += user + system
                print(f"  {1000 * (user + system) / result.requests:6.3f} ms/request (system {1000 * system / result.requests:.3f})  {_label(proc, server.proc.pid)}")
                if args.threads and user + system > 0:
                    seen = 0.0
                    for tid, (t_user, t_system) in threads_after.get(proc.pid, {}).items():
                        was = threads_before.get(proc.pid, {}).get(tid, (0.0, 0.0))
                        used = t_user + t_system - sum(was)
                        seen += used
                        if used > 0:
                            print(f"      {1e6 * used / result.requests:7.1f} µs/request  {names.get(proc.pid, {}).get(tid, tid)}")
                    print(f"      {1e6 * (user + system - seen) / result.requests:7.1f} µs/request  threads that ended (requests)")
            print(f"  {1000 * total / result.requests:6.3f} ms/request  whole server side")
            for pid, raw, _ in spies:
                print(f"\n== py-spy {_label(psutil.Process(pid), server.proc.pid) if psutil.pid_exists(pid) else pid}")
                print("\n".join(_top(raw)) if raw.exists() else "  (no profile)")
        wait_port_free(port)
    finally:
        ws.cleanup()
        print(f"raw profiles in {out_dir}") if args.profile else shutil.rmtree(out_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
