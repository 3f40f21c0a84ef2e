"""The seven scenarios of issue 6. Each returns result rows and raw samples.

Plain ``flask run`` and debugdash always run the same app with the same flags,
in the same run, alternating (plain first on even repetitions, debugdash first
on odd ones), so drift in the machine's load hits both sides alike.
"""

from __future__ import annotations

import contextlib
import json
import random
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from benchmarks import harness
from benchmarks.harness import Server, Workspace, debugdash_command, free_port, get, plain_command, wait_port_free
from benchmarks.load import run_load
from benchmarks.pty_dashboard import Dashboard, cpu_of


@dataclass
class Row:
    scenario: str
    metric: str
    unit: str
    plain: float | None = None
    debugdash: float | None = None
    #: debugdash / plain (or the value itself, for absolute targets).
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None  # None: reported, no target


@dataclass
class Outcome:
    rows: list[Row] = field(default_factory=list)
    samples: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _sides(rep: int) -> tuple[str, str]:
    return ("plain", "debugdash") if rep % 2 == 0 else ("debugdash", "plain")


def _server(ws: Workspace, side: str, app_dir: Path, *, extra: tuple[str, ...] = (), json_output: bool = False) -> Server:
    port = free_port()
    if side == "plain":
        command = plain_command(port, extra=extra)
    else:
        command = debugdash_command(port, extra=extra, json_output=json_output)
    return Server(side, command, cwd=app_dir, env=ws.env(), port=port, out=ws.out_file(side))


def _log(message: str) -> None:
    print(f"    {message}", file=sys.stderr, flush=True)


# --- 1 and 2: request throughput --------------------------------------------------


def _throughput(
    ws: Workspace, quick: bool, *, scenario: str, path: str, extra: tuple[str, ...], total: int, target: float, cpu_target: float | None = None
) -> Outcome:
    reps = 2 if quick else 7
    total = total // 3 if quick else total
    app_dir = ws.app_dir(f"app-{scenario.split()[0]}-{len(extra)}")
    rates: dict[str, list[float]] = {"plain": [], "debugdash": []}
    cpu: dict[str, list[float]] = {"plain": [], "debugdash": []}
    generator: list[float] = []
    statuses: dict[str, dict[int, int]] = {"plain": {}, "debugdash": {}}
    for rep in range(reps):
        for side in _sides(rep):
            with _server(ws, side, app_dir, extra=extra) as server:
                server.wait_ready()
                run_load(server.port, path, max(100, total // 10))  # warm up: imports, first-request work
                server.settle()
                cpu0 = server.cpu_seconds()
                result = run_load(server.port, path, total)
                used = server.cpu_seconds() - cpu0
            wait_port_free(server.port)
            rates[side].append(result.rate)
            cpu[side].append(1000 * used / max(result.requests, 1))
            generator.append(result.generator_cpu / result.seconds)
            for status, count in result.statuses.items():
                statuses[side][status] = statuses[side].get(status, 0) + count
            if result.failures:
                statuses[side][-1] = statuses[side].get(-1, 0) + result.failures
            _log(f"{scenario} rep {rep} {side}: {result.rate:.0f} req/s, server CPU {1000 * used / max(result.requests, 1):.2f} s/1k")
    plain, dd = median(rates["plain"]), median(rates["debugdash"])
    ratio = _ratio(dd, plain)
    out = Outcome()
    flags = f", {' '.join(extra)}" if extra else ""
    out.rows.append(Row(scenario, f"requests/s ({total} requests, 8 keep-alive clients, {path}{flags})", "req/s", plain, dd, ratio, f"≥ {target}", ratio is not None and ratio >= target))
    cp, cd = median(cpu["plain"]), median(cpu["debugdash"])
    cpu_ratio = _ratio(cd, cp)
    out.rows.append(Row(
        scenario, f"CPU of the whole server side per 1000 requests (debugdash: supervisor included{flags})", "s", cp, cd, cpu_ratio,
        f"≤ {cpu_target}" if cpu_target else "", (cpu_ratio is not None and cpu_ratio <= cpu_target) if cpu_target else None,
    ))
    out.samples = {"rates": rates, "cpu_s_per_1k": cpu, "statuses": statuses, "generator_cpu_share": generator}
    out.notes.append(f"load generator used {100 * (median(generator) or 0):.0f} % of one core (median) while driving the server")
    return out


def throughput(ws: Workspace, quick: bool) -> Outcome:
    return _throughput(ws, quick, scenario="1 throughput", path="/json", extra=(), total=4000, target=0.97)


def error_path(ws: Workspace, quick: bool) -> Outcome:
    """Issue 16: failing requests cost about what they cost under plain `flask run`, debugger off and on."""
    out = Outcome()
    for label, extra in (("debugger off", ("--no-debugger",)), ("debugger on", ())):
        part = _throughput(ws, quick, scenario="2 error path", path="/boom", extra=extra, total=1200, target=0.95, cpu_target=1.15)
        out.rows += part.rows
        out.samples[label] = part.samples
        out.notes += [f"{label}: {note}" for note in part.notes]
    return out


def error_burst(ws: Workspace, quick: bool) -> Outcome:
    """Issue 16: 10,000 failing requests as fast as they come; every one counted, the newest shown whole."""
    total = 10_000
    app_dir = ws.app_dir("app-burst")
    with _server(ws, "debugdash", app_dir, extra=("--no-debugger",), json_output=True) as server:
        server.wait_ready()
        tree = server.tree()
        rss0 = sum(p.memory_info().rss for p in tree)
        cpu0 = server.cpu_seconds()
        result = run_load(server.port, "/boom/0", total - 1)
        # The last one alone, so that which occurrence is the newest is known.
        status, _ = get(server.port, f"/boom/{total}")
        deadline = time.perf_counter() + 60
        state = None
        while time.perf_counter() < deadline:
            state = _burst_state(server.out)
            group = state.error_groups[0] if state.error_groups else None
            if group is not None and group.count >= total and group.latest.count >= total:
                break
            time.sleep(0.1)
        used = server.cpu_seconds() - cpu0
        rss1 = sum(p.memory_info().rss for p in server.tree())
    wait_port_free(server.port)
    group = state.error_groups[0] if state and state.error_groups else None
    count = group.count if group else 0
    raised = group.latest.exception.raised_at if group else None
    newest_whole = bool(group and group.latest.path == f"/boom/{total}" and raised is not None and raised.locals.get("n") == str(total))
    out = Outcome()
    out.rows.append(Row("2b error burst", f"failures counted by the dashboard's reducer (of {total:,}; {status} for the last)", "", None, count, count, f"= {total}", count == total))
    out.rows.append(Row("2b error burst", "the newest occurrence shown whole, its locals as at failure (1 = yes)", "", None, float(newest_whole), float(newest_whole), "= 1", newest_whole))
    out.rows.append(Row("2b error burst", "RSS growth of the whole tree over the burst", "MB", None, (rss1 - rss0) / 2**20))
    out.rows.append(Row("2b error burst", "requests/s during the burst (8 keep-alive clients)", "req/s", None, result.rate))
    out.rows.append(Row("2b error burst", "CPU of the whole server side per 1000 failures", "s", None, 1000 * used / total))
    out.samples = {"count": count, "newest_whole": newest_whole, "rss_before": rss0, "rss_after": rss1, "statuses": result.statuses}
    return out


def _burst_state(out: Path) -> Any:
    """What the dashboard would show: the same reducer over the --json events written so far."""
    from debugdash.core.state import SessionState
    from debugdash.protocol.events import event_from_dict

    state = SessionState()
    with open(out, "rb") as f:
        for line in f:
            if line.startswith(b'{"event":"request_error'):
                with contextlib.suppress(ValueError):
                    state.apply(event_from_dict(json.loads(line)))
    return state


# --- 3: startup ------------------------------------------------------------------


def startup(ws: Workspace, quick: bool) -> Outcome:
    reps = 3 if quick else 6
    app_dir = ws.app_dir("app-startup")
    times: dict[str, list[float]] = {"plain": [], "debugdash": []}
    for rep in range(reps):
        for side in _sides(rep):
            with _server(ws, side, app_dir) as server:
                times[side].append(server.wait_ready())
            wait_port_free(server.port)
            _log(f"startup rep {rep} {side}: {times[side][-1]:.3f} s")
    frames: list[float] = []
    tui_ready: list[float] = []
    for rep in range(1 if quick else 3):
        port = free_port()
        with Dashboard(port, cwd=app_dir, env=ws.env()) as dash:
            tui_ready.append(dash.wait_ready())
            frames.append(dash.wait_first_frame())
        wait_port_free(port)
        _log(f"startup dashboard rep {rep}: first frame {frames[-1]:.3f} s, first 200 {tui_ready[-1]:.3f} s")
    plain, dd = median(times["plain"]), median(times["debugdash"])
    ratio = _ratio(dd, plain)
    out = Outcome()
    out.rows.append(Row("3 startup", "launch to first 200 (headless)", "s", plain, dd, ratio, "≤ 1.3", ratio is not None and ratio <= 1.3))
    out.rows.append(Row("3 startup", "dashboard: launch to first frame (pty)", "s", None, median(frames)))
    out.rows.append(Row("3 startup", "dashboard: launch to first 200 (pty)", "s", plain, median(tui_ready), _ratio(median(tui_ready), plain)))
    out.samples = {"first_200": times, "dashboard_first_frame": frames, "dashboard_first_200": tui_ready}
    return out


# --- 4: reload -------------------------------------------------------------------


def _set_version(app_dir: Path, version: str) -> None:
    path = app_dir / "bench_app.py"
    text = path.read_text()
    start = text.index('VERSION = "')
    end = text.index('"', start + len('VERSION = "'))
    path.write_text(text[:start] + f'VERSION = "{version}' + text[end:])


def _reloads(server: Server, app_dir: Path, count: int, label: str) -> list[float]:
    latencies = []
    for n in range(count):
        # Longer than the slowest reloader's interval, so its first pass has recorded mtimes;
        # random, so the write lands anywhere in the polling phase.
        time.sleep(random.uniform(1.3, 2.1))
        version = f"{label}-{n}-{random.randrange(10**9)}"
        _set_version(app_dir, version)
        t0 = time.perf_counter()
        deadline = t0 + 30
        while True:
            status, body = get(server.port, "/version", timeout=5)
            if status == 200 and body.decode() == version:
                break
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{server.kind}: the new code was not served within 30 s:\n{server.tail()}")
            time.sleep(0.002)
        latencies.append(time.perf_counter() - t0)
        _log(f"reload {server.kind} #{n}: {latencies[-1]:.3f} s")
    return latencies


def reload(ws: Workspace, quick: bool) -> Outcome:
    blocks = 1 if quick else 2
    per_block = 3 if quick else 4
    latencies: dict[str, list[float]] = {"plain": [], "debugdash": []}
    for block in range(blocks):
        for side in _sides(block):
            app_dir = ws.app_dir(f"app-reload-{side}-{block}")
            with _server(ws, side, app_dir) as server:
                server.wait_ready("/version")
                latencies[side] += _reloads(server, app_dir, per_block, side)
            wait_port_free(server.port)
    floor: list[float] = []
    app_dir = ws.app_dir("app-floor")
    for _ in range(3 if quick else 5):
        port = free_port()
        server = Server("plain-floor", [sys.executable, "floor.py", str(port)], cwd=app_dir, env=ws.env(), port=port, out=ws.out_file("floor"))
        with server:
            floor.append(server.wait_ready("/version"))
        wait_port_free(port)
    plain, dd, fl = median(latencies["plain"]), median(latencies["debugdash"]), median(floor)
    ratio = _ratio(dd, plain)
    out = Outcome()
    out.rows.append(Row("4 reload", "file write to first response from the new code", "s", plain, dd, ratio, "≤ 0.5", ratio is not None and ratio <= 0.5))
    out.rows.append(Row("4 reload", "floor: fresh interpreter imports the app, binds, answers", "s", fl, dd, _ratio(dd, fl)))
    out.samples = {"latency": latencies, "floor": floor}
    out.notes.append("plain `flask run --debug` uses Werkzeug's stat reloader (watchdog is not installed), 1 s interval")
    return out


# --- 5: error to screen ----------------------------------------------------------


def _probe(ws: Workspace, mode: str, amount: int, name: str, timeout: float) -> dict[str, Any]:
    app_dir = ws.app_dir(name)
    port = free_port()
    proc = subprocess.run(
        [sys.executable, str(harness.BENCH_DIR / "dash_probe.py"), mode, str(app_dir), str(port), str(amount)],
        cwd=harness.REPO,
        env=ws.env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    wait_port_free(port)
    if proc.returncode != 0:
        raise RuntimeError(f"dash_probe {mode} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def error_to_screen(ws: Workspace, quick: bool) -> Outcome:
    count = 15 if quick else 40
    data = _probe(ws, "errors", count, "app-errors-screen", timeout=180)
    sup, screen = data["to_supervisor"], data["to_screen"]
    out = Outcome()
    for label, values in (("to the request_error event at the supervisor", sup), ("to the traceback on the dashboard's screen", screen)):
        out.rows.append(Row("5 error to screen", f"response {label}, p50", "ms", None, _ms(median(values))))
        out.rows.append(Row("5 error to screen", f"response {label}, p95", "ms", None, _ms(percentile(values, 0.95))))
    out.samples = data
    if data.get("missed_screen"):
        out.notes.append(f"{data['missed_screen']} of {count} tracebacks did not reach the screen within 5 s")
    out.notes.append("negative times: the event reached the supervisor before the client had read the 500 response")
    return out


def _ms(value: float | None) -> float | None:
    return None if value is None else 1000 * value


# --- 6: output flood -------------------------------------------------------------


def _flood_cli(ws: Workspace, side: str, app_dir: Path, lines: int, json_output: bool = False) -> float:
    with _server(ws, side, app_dir, json_output=json_output) as server:
        server.wait_ready()
        # debugdash builds its template and warm spare after the first response (~0.5 s of
        # CPU on a busy machine): one-time work that must not compete with the flood.
        server.settle()
        tag = f"t{random.randrange(10**9)}"
        marker = f"FLOOD-DONE {tag}".encode()
        t0 = time.perf_counter()
        # The request returns when the app has written everything; what counts is the output reaching the file.
        answer: list[tuple[int, bytes]] = []
        request = threading.Thread(target=lambda: answer.append(get(server.port, f"/flood?n={lines}&tag={tag}", 600.0)), daemon=True)
        request.start()
        deadline = t0 + 60 + lines / 5000
        answered_at = None
        while not harness.file_tail_contains(server.out, marker, 8192):
            now = time.perf_counter()
            if answer and answered_at is None:
                answered_at = now
                if answer[0][0] != 200:
                    raise RuntimeError(f"{side}: the flood request failed ({answer[0][0]}):\n{server.tail()}")
            if now > deadline or (answered_at is not None and now - answered_at > 60):
                raise RuntimeError(f"{side}: flood not consumed:\n{server.tail()}")
            time.sleep(0.01)
        elapsed = time.perf_counter() - t0
        request.join(timeout=60)
    wait_port_free(server.port)
    return elapsed


def flood(ws: Workspace, quick: bool) -> Outcome:
    lines = 200_000 if quick else 1_000_000
    reps = 1 if quick else 3
    app_dir = ws.app_dir("app-flood")
    times: dict[str, list[float]] = {"plain": [], "debugdash": [], "debugdash-json": [], "dashboard": []}
    probes: list[dict[str, Any]] = []
    for rep in range(reps):
        order = ["plain", "debugdash", "debugdash-json", "dashboard"]
        if rep % 2:
            order.reverse()
        for side in order:
            if side == "dashboard":
                probe = _probe(ws, "flood", lines, f"app-flood-dash-{rep}", timeout=300)
                probes.append(probe)
                if probe.get("error"):
                    raise RuntimeError(f"dashboard flood, rep {rep}: {probe['error']} ({probe.get('keys_sent')} keys sent)")
                times[side].append(probe["consumed"])
            else:
                kind = "plain" if side == "plain" else "debugdash"
                times[side].append(_flood_cli(ws, kind, app_dir, lines, json_output=side == "debugdash-json"))
            _log(f"flood rep {rep} {side}: {times[side][-1]:.2f} s")
    plain = median(times["plain"])
    out = Outcome()
    metric = f"{lines:,} lines printed to all consumed"
    for side, label in (("debugdash", "headless, output to a file"), ("debugdash-json", "headless --json, output to a file"), ("dashboard", "dashboard (Pilot)")):
        value = median(times[side])
        ratio = _ratio(value, plain)
        out.rows.append(Row("6 flood", f"{metric}: {label}", "s", plain, value, ratio, "≤ 1.2", ratio is not None and ratio <= 1.2))
    growth = [(p["rss_after"] - p["rss_before"]) / 2**20 for p in probes]
    worst_growth = max(growth) if growth else None
    out.rows.append(Row("6 flood", "dashboard RSS after − before (worst run)", "MB", None, worst_growth, worst_growth, "≤ 50", worst_growth is not None and worst_growth <= 50))
    keys = [k for p in probes for k in p["key_latency"]]
    p95 = percentile(keys, 0.95)
    out.rows.append(Row("6 flood", f"key during the flood to its screen refresh, p95 ({len(keys)} keys)", "ms", None, _ms(p95), _ms(p95), "≤ 150", p95 is not None and p95 <= 0.150))
    out.rows.append(Row("6 flood", "key during the flood to its screen refresh, p50", "ms", None, _ms(median(keys))))
    out.samples = {"consumed": times, "dashboard_probes": [{k: v for k, v in p.items() if k != "key_latency"} for p in probes], "key_latency_ms": [round(1000 * k, 1) for k in keys]}
    if quick:
        out.notes.append("--quick floods 200,000 lines instead of 1,000,000")
    return out


# --- 7: idle ----------------------------------------------------------------------


def idle(ws: Workspace, quick: bool) -> Outcome:
    seconds = 10.0 if quick else 30.0
    app_dir = ws.app_dir("app-idle")
    port = free_port()
    # What one wake-up a second costs on this machine, in the same window: on a
    # virtual machine a process woken from idle can be charged milliseconds for it.
    floor = subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(1)"])
    try:
        with Dashboard(port, cwd=app_dir, env=ws.env()) as dash:
            dash.wait_ready()
            time.sleep(3)
            root, server = dash.processes()
            cpu0, server0, bytes0, floor0 = cpu_of([root]), cpu_of(server), dash.bytes_out, cpu_of([psutil.Process(floor.pid)])
            t0 = time.perf_counter()
            time.sleep(seconds)
            elapsed = time.perf_counter() - t0
            dash_cpu = 100 * (cpu_of([root]) - cpu0) / elapsed
            server_cpu = 100 * (cpu_of(server) - server0) / elapsed
            terminal_rate = (dash.bytes_out - bytes0) / elapsed
            floor_cpu = 100 * (cpu_of([psutil.Process(floor.pid)]) - floor0) / elapsed
    finally:
        floor.kill()
        floor.wait()
    wait_port_free(port)
    with _server(ws, "plain", app_dir) as plain:
        plain.wait_ready()
        time.sleep(3)
        p0 = plain.cpu_seconds()
        t0 = time.perf_counter()
        time.sleep(seconds)
        plain_cpu = 100 * (plain.cpu_seconds() - p0) / (time.perf_counter() - t0)
    wait_port_free(plain.port)
    out = Outcome()
    out.rows.append(Row("7 idle", f"dashboard + supervisor CPU over {seconds:.0f} s idle", "% of a core", None, dash_cpu, dash_cpu, "≤ 1", dash_cpu <= 1.0))
    out.rows.append(Row("7 idle", "the server tree's own CPU, idle (debugdash: agent + its reloader)", "% of a core", plain_cpu, server_cpu, _ratio(server_cpu, plain_cpu)))
    out.rows.append(Row("7 idle", "bytes written to the terminal per second, idle", "B/s", None, terminal_rate))
    out.rows.append(Row("7 idle", "this machine's floor: a Python process waking once a second, nothing else", "% of a core", None, floor_cpu))
    out.samples = {"dashboard_cpu_percent": dash_cpu, "server_cpu_percent": server_cpu, "plain_server_cpu_percent": plain_cpu, "terminal_bytes_per_s": terminal_rate, "one_wakeup_per_second_cpu_percent": floor_cpu}
    return out


SCENARIOS = {
    "throughput": throughput,
    "errors": error_path,
    "burst": error_burst,
    "startup": startup,
    "reload": reload,
    "error-screen": error_to_screen,
    "flood": flood,
    "idle": idle,
}
