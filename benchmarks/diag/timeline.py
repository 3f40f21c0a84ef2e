"""Where startup and reload time goes in debugdash (diagnosis, not a benchmark).

    python benchmarks/diag/timeline.py [startups] [reloads]

Runs ``debugdash --headless --json`` and lines the events' own timestamps up
with the launch, the file write and the first good response:

- startup: launch -> ``started`` (CLI import, supervisor setup) -> ``ready``
  (agent reloader parent + worker, app imported, socket bound) -> first 200;
- reload: write -> ``reload`` (detection by the agent's stat loop) -> ``ready``
  of the new worker (exit, new interpreter, imports, handshake, bind) -> first 200.

Also times the pieces any launch pays: a bare interpreter, ``import flask``,
``debugdash --version`` and the supervisor's imports.
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[2])

from benchmarks.harness import VENV_BIN, Workspace, debugdash_command, free_port, get, wait_port_free  # noqa: E402
from benchmarks.scenarios import _set_version  # noqa: E402


class JsonSession:
    def __init__(self, ws: Workspace, app_dir: Path) -> None:
        self.port = free_port()
        self.events: list[tuple[float, dict]] = []
        self.launched = time.time()
        self.proc = subprocess.Popen(
            debugdash_command(self.port, json_output=True),
            cwd=app_dir, env=ws.env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                self.events.append((time.time(), json.loads(line)))
            except ValueError:
                pass

    def first(self, name: str, after: float = 0.0) -> dict | None:
        for _, event in list(self.events):
            if event.get("event") == name and event["time"] >= after:
                return event
        return None

    def wait_response(self, path: str, expect: bytes | None = None) -> float:
        deadline = time.time() + 30
        while time.time() < deadline:
            status, body = get(self.port, path, timeout=5)
            if status == 200 and (expect is None or body == expect):
                return time.time()
            time.sleep(0.002)
        raise RuntimeError("no response")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=15)
        wait_port_free(self.port)


def timed(command: list[str], n: int = 5) -> float:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def ms(values: list[float]) -> str:
    return f"{1000 * statistics.median(values):6.0f} ms (min {1000 * min(values):.0f}, max {1000 * max(values):.0f})"


def main() -> None:
    startups = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    reloads = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    py = sys.executable
    print("pieces every launch pays (median of 5):")
    print(f"  bare interpreter                 {1000 * timed([py, '-c', 'pass']):6.0f} ms")
    print(f"  import flask                     {1000 * timed([py, '-c', 'import flask']):6.0f} ms")
    print(f"  debugdash --version              {1000 * timed([str(VENV_BIN / 'debugdash'), '--version']):6.0f} ms")
    print(f"  import debugdash.core.supervisor {1000 * timed([py, '-c', 'import debugdash.core.supervisor']):6.0f} ms")
    print(f"  import debugdash.headless        {1000 * timed([py, '-c', 'import debugdash.headless']):6.0f} ms")
    print(f"  import debugdash.agent.hooks     {1000 * timed([py, '-c', 'import debugdash.agent.hooks']):6.0f} ms")
    ws = Workspace()
    try:
        app_dir = ws.app_dir("app")
        phases: dict[str, list[float]] = {"launch -> started": [], "started -> ready": [], "ready -> first 200": [], "total": []}
        for _ in range(startups):
            session = JsonSession(ws, app_dir)
            answered = session.wait_response("/json")
            started, ready = session.first("started"), session.first("ready")
            phases["launch -> started"].append(started["time"] - session.launched)
            phases["started -> ready"].append(ready["time"] - started["time"])
            phases["ready -> first 200"].append(answered - ready["time"])
            phases["total"].append(answered - session.launched)
            session.stop()
        print("startup, debugdash --headless --json:")
        for name, values in phases.items():
            print(f"  {name:22} {ms(values)}")
        reload_dir = ws.app_dir("app-reload")
        session = JsonSession(ws, reload_dir)
        session.wait_response("/version")
        steps: dict[str, list[float]] = {"write -> reload event": [], "reload -> ready": [], "ready -> first new 200": [], "total": []}
        for n in range(reloads):
            time.sleep(random.uniform(1.0, 1.6))
            version = f"v{n}-{random.randrange(10**9)}"
            _set_version(reload_dir, version)
            written = time.time()
            answered = session.wait_response("/version", version.encode())
            time.sleep(0.05)
            reload_event, ready = session.first("reload", written), session.first("ready", written)
            steps["write -> reload event"].append(reload_event["time"] - written)
            steps["reload -> ready"].append(ready["time"] - reload_event["time"])
            steps["ready -> first new 200"].append(answered - ready["time"])
            steps["total"].append(answered - written)
        session.stop()
        print("reload, debugdash --headless --json:")
        for name, values in steps.items():
            print(f"  {name:22} {ms(values)}")
    finally:
        ws.cleanup()


if __name__ == "__main__":
    main()
