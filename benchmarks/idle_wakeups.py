"""Wake-ups and CPU of every thread of an idle debugdash, process by process.

    .venv/bin/python benchmarks/idle_wakeups.py                 # the dashboard in a pty
    .venv/bin/python benchmarks/idle_wakeups.py --headless      # the headless supervisor
    .venv/bin/python benchmarks/idle_wakeups.py --plain         # plain `flask run --debug`
    .venv/bin/python benchmarks/idle_wakeups.py --heavy         # the heavy app, with its template

A thread's context switches (voluntary + involuntary, from /proc) over the
window count its wake-ups: on a busy machine the CPU time of an idle process
grows with the machine's load, the number of times it wakes does not. Thread
names come from ``py-spy dump`` when it is installed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import Workspace, free_port, running, wait_port_free  # noqa: E402
from benchmarks.pty_dashboard import Dashboard  # noqa: E402
from benchmarks.scenarios import _server  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def _threads(pid: int) -> dict[int, tuple[str, int, float]]:
    """tid -> (comm, context switches, CPU seconds)."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = (task / "status").read_text()
            stat = (task / "stat").read_text()
        except OSError:
            continue
        switches = sum(int(n) for n in re.findall(r"_ctxt_switches:\s+(\d+)", status))
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(task.name)] = (comm, switches, (int(fields[11]) + int(fields[12])) / TICKS)
    return found


def _names(pid: int) -> dict[int, str]:
    """tid -> Python thread name, from py-spy (empty without it)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        return {}
    try:
        out = subprocess.run([spy, "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    names = {}
    for match in re.finditer(r'Thread (0x[0-9A-Fa-f]+|\d+) \((?:idle|active[^)]*)\): "([^"]*)"', out):
        ident, name = match.groups()
        names[int(ident, 0)] = name
    # py-spy prints the native tid when it knows it; fall back to the Python ident
    return names


def _tree(root: int) -> list[psutil.Process]:
    proc = psutil.Process(root)
    return [proc, *proc.children(recursive=True)]


def _label(proc: psutil.Process) -> str:
    try:
        cmd = " ".join(proc.cmdline())
    except psutil.Error:
        return "?"
    return cmd[-70:]


def measure(root: int, seconds: float) -> None:
    procs = _tree(root)
    before = {p.pid: _threads(p.pid) for p in procs if running(p)}
    t0 = time.perf_counter()
    time.sleep(seconds)
    elapsed = time.perf_counter() - t0
    after = {p.pid: _threads(p.pid) for p in procs if running(p)}
    total_w = total_cpu = 0.0
    for proc in procs:
        if proc.pid not in after or proc.pid not in before:
            continue
        names = _names(proc.pid)
        rows = []
        for tid, (comm, switches, cpu) in after[proc.pid].items():
            if tid not in before[proc.pid]:
                continue
            _, s0, c0 = before[proc.pid][tid]
            rows.append((tid, names.get(tid, comm), (switches - s0) / elapsed, 100 * (cpu - c0) / elapsed))
        w = sum(r[2] for r in rows)
        c = sum(r[3] for r in rows)
        total_w += w
        total_cpu += c
        print(f"pid {proc.pid} ppid {proc.ppid()}: {w:6.1f} wakeups/s {c:5.2f} % CPU  {_label(proc)}")
        for tid, name, wr, cr in sorted(rows, key=lambda r: -r[2]):
            if wr >= 0.05:
                print(f"    {tid:>8} {name[:30]:30} {wr:6.1f}/s {cr:5.2f} %")
    print(f"total: {total_w:.1f} wakeups/s, {total_cpu:.2f} % of a core over {elapsed:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds idle before measuring")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--headless", action="store_true")
    group.add_argument("--plain", action="store_true")
    group.add_argument("--heavy", action="store_true")
    args = parser.parse_args()
    ws = Workspace()
    try:
        app_dir = ws.app_dir("app-idle")
        if args.heavy:
            from benchmarks import heavy

            python = heavy.heavy_python()
            with heavy._heavy_server(ws, "debugdash", heavy._heavy_dir(ws, "idle"), python) as server:
                server.wait_ready("/version", timeout=120)
                heavy._wait_template(server)
                time.sleep(args.settle)
                measure(server.proc.pid, args.seconds)
            wait_port_free(server.port)
        elif args.headless or args.plain:
            with _server(ws, "plain" if args.plain else "debugdash", app_dir) as server:
                server.wait_ready()
                time.sleep(args.settle)
                measure(server.proc.pid, args.seconds)
            wait_port_free(server.port)
        else:
            port = free_port()
            with Dashboard(port, cwd=app_dir, env=ws.env()) as dash:
                dash.wait_ready()
                time.sleep(args.settle)
                measure(dash.proc.pid, args.seconds)
            wait_port_free(port)
    finally:
        ws.cleanup()


if __name__ == "__main__":
    main()
