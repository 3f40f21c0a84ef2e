"""Which process pays for a load (diagnosis, not a benchmark).

    python benchmarks/diag/cpu_split.py PATH REQUESTS [--patches P,Q] [extra server flags...]

Runs plain `flask run --debug` and `debugdash --headless` on the benchmark
app, drives PATH with the benchmark's load generator, and prints the CPU
milliseconds per request of each process: supervisor, reloader parent, worker.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[2])

from benchmarks.harness import Server, Workspace, debugdash_command, free_port, plain_command, wait_port_free  # noqa: E402
from benchmarks.load import run_load  # noqa: E402


def role(proc, server: Server) -> str:
    if proc.pid == server.proc.pid:
        return "supervisor" if server.kind == "debugdash" else "flask reloader parent"
    try:
        env = proc.environ()
    except Exception:
        env = {}
    return "worker" if env.get("WERKZEUG_RUN_MAIN") == "true" else "agent reloader parent"


def main() -> None:
    path, total, extra = sys.argv[1], int(sys.argv[2]), list(sys.argv[3:])
    patchset = None
    if extra[:1] == ["--patches"]:
        patchset, extra = extra[1], extra[2:]
    extra = tuple(extra)
    ws = Workspace()
    try:
        app_dir = ws.app_dir("app")
        for kind in ("plain", "debugdash", "plain", "debugdash"):
            port = free_port()
            command = plain_command(port, extra=extra) if kind == "plain" else debugdash_command(port, extra=extra)
            if kind == "debugdash" and patchset:
                command = [sys.executable, str(Path(__file__).resolve().parent / "dash_patched.py"), patchset, *command[1:]]
            with Server(kind, command, cwd=app_dir, env=ws.env(), port=port, out=ws.out_file(kind)) as server:
                server.wait_ready()
                run_load(port, path, max(100, total // 10))
                before = {p.pid: (p, sum(p.cpu_times()[:2])) for p in server.tree()}
                result = run_load(port, path, total)
                parts = []
                for pid, (proc, cpu0) in before.items():
                    used = sum(proc.cpu_times()[:2]) - cpu0
                    parts.append(f"{role(proc, server)} {1000 * used / result.requests:.3f}")
                print(f"{kind:9} {result.rate:6.0f} req/s; CPU ms/request: " + ", ".join(parts), flush=True)
            wait_port_free(port)
    finally:
        ws.cleanup()


if __name__ == "__main__":
    main()
