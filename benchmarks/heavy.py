"""Issue 15's scenarios: a real-sized app's reload, start-up with and without the
reloader, and what the template costs when idle.

The heavy app imports pandas, SQLAlchemy with Flask-SQLAlchemy, pydantic and
requests from an app virtualenv the benchmark builds once and caches under
``~/.cache/debugdash-bench`` (``$DEBUGDASH_BENCH_CACHE``). Plain runs use that
environment's ``python -m flask``; debugdash runs from this checkout's venv with
``--python`` naming the app's interpreter, as a user with a separate app venv
does. The small app is ``apps/bench_app.py`` on this venv's interpreter.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil

from benchmarks.harness import VENV_BIN, Server, Workspace, debugdash_command, file_tail_contains, free_port, get, wait_port_free
from benchmarks.scenarios import Outcome, Row, _log, _ratio, _sides, median

REQUIREMENTS = ("flask", "pandas", "sqlalchemy", "flask-sqlalchemy", "pydantic", "requests")
CACHE = Path(os.environ.get("DEBUGDASH_BENCH_CACHE") or Path.home() / ".cache" / "debugdash-bench")

HEAVY_APP = '''"""A real-sized app: its libraries take most of its import time."""

import pandas
import pydantic
import requests
import sqlalchemy
from flask import Flask, jsonify
from flask_sqlalchemy import SQLAlchemy

VERSION = "0"

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
db = SQLAlchemy(app)


class Item(pydantic.BaseModel):
    name: str
    price: float


@app.get("/json")
def small_json():
    frame = pandas.DataFrame({"price": [1.0, 2.5]})
    return jsonify(total=float(frame["price"].sum()), item=Item(name="x", price=1).model_dump(), agent=requests.__version__)


@app.get("/version")
def version():
    return VERSION
'''

HEAVY_FLOOR = '''"""The heavy app's reload floor: a fresh interpreter imports it, binds, answers."""
import os
import sys

sys.path.insert(0, os.getcwd())
from werkzeug.serving import make_server  # noqa: E402
from heavy_app import app  # noqa: E402

make_server("127.0.0.1", int(sys.argv[1]), app, threaded=True).serve_forever()
'''


def heavy_python() -> Path:
    """The heavy app's interpreter, from the cache; built (a few minutes) when missing."""
    key = hashlib.sha256("\n".join((sys.version, *REQUIREMENTS)).encode()).hexdigest()[:12]
    home = CACHE / f"heavy-{key}"
    python = home / "bin" / "python"
    if (home / ".complete").exists():
        return python
    CACHE.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(home, ignore_errors=True)
    _log(f"building the heavy app's environment in {home} (once)")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(home)], check=True, timeout=300)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *REQUIREMENTS], check=True, timeout=1200)
    except BaseException:
        shutil.rmtree(home, ignore_errors=True)
        raise
    (home / ".complete").write_text(key)
    return python


def _heavy_dir(ws: Workspace, name: str) -> Path:
    directory = ws.root / name
    directory.mkdir()
    (directory / "heavy_app.py").write_text(HEAVY_APP)
    (directory / "heavy_floor.py").write_text(HEAVY_FLOOR)
    return directory


def _heavy_server(ws: Workspace, side: str, app_dir: Path, python: Path, *, reload: bool = True) -> Server:
    port = free_port()
    flag = () if reload else ("--no-reload",)
    if side == "plain":
        command = [str(python), "-m", "flask", "--app", "heavy_app", "--debug", "run", "--port", str(port), *flag]
    else:
        command = [str(VENV_BIN / "debugdash"), "--app", "heavy_app", "--python", str(python), "--port", str(port), "--headless", *flag]
    return Server(side, command, cwd=app_dir, env=ws.env(), port=port, out=ws.out_file(f"heavy-{side}"))


def _small_server(ws: Workspace, side: str, app_dir: Path, *, reload: bool = True) -> Server:
    port = free_port()
    flag = () if reload else ("--no-reload",)
    if side == "plain":
        command = [str(VENV_BIN / "flask"), "--app", "bench_app", "--debug", "run", "--port", str(port), *flag]
    else:
        command = debugdash_command(port, extra=flag)
    return Server(side, command, cwd=app_dir, env=ws.env(), port=port, out=ws.out_file(f"small-{side}"))


def _wait_template(server: Server, timeout: float = 120.0) -> dict:
    """debugdash's headless output names the template once it is ready to fork: its event."""
    deadline = time.monotonic() + timeout
    while not file_tail_contains(server.out, b"template  {", size=1 << 16):
        if time.monotonic() > deadline:
            raise RuntimeError(f"no template within {timeout} s:\n{server.tail()}")
        time.sleep(0.05)
    line = next(line for line in server.out.read_text(errors="replace").splitlines() if "template  {" in line)
    return json.loads(line.split("template  ", 1)[1])


def _set_heavy_version(app_dir: Path, version: str) -> None:
    path = app_dir / "heavy_app.py"
    path.write_text(re.sub(r'VERSION = "[^"]*"', f'VERSION = "{version}"', path.read_text(), count=1))


def _heavy_reloads(server: Server, app_dir: Path, count: int, label: str) -> list[float]:
    """As the small app's reload scenario measures: write, then poll until the new version answers."""
    latencies = []
    for n in range(count):
        time.sleep(random.uniform(1.3, 2.1))  # past the slowest reloader's interval, anywhere in its phase
        version = f"{label}-{n}-{random.randrange(10**9)}"
        _set_heavy_version(app_dir, version)
        t0 = time.perf_counter()
        while True:
            status, body = get(server.port, "/version", timeout=10)
            if status == 200 and body.decode() == version:
                break
            if time.perf_counter() - t0 > 60:
                raise RuntimeError(f"{server.kind}: the new code was not served within 60 s:\n{server.tail()}")
            time.sleep(0.002)
        latencies.append(time.perf_counter() - t0)
        _log(f"reload {label} #{n}: {latencies[-1]:.3f} s")
    return latencies


def heavy_reload(ws: Workspace, quick: bool) -> Outcome:
    python = heavy_python()
    blocks, per_block = (1, 3) if quick else (2, 4)
    latencies: dict[str, list[float]] = {"plain": [], "debugdash": []}
    for block in range(blocks):
        for side in _sides(block):
            app_dir = _heavy_dir(ws, f"heavy-reload-{side}-{block}")
            with _heavy_server(ws, side, app_dir, python) as server:
                server.wait_ready("/version", timeout=120)
                if side == "debugdash":
                    _wait_template(server)
                latencies[side] += _heavy_reloads(server, app_dir, per_block, f"heavy-{side}")
            wait_port_free(server.port)
    floor: list[float] = []
    app_dir = _heavy_dir(ws, "heavy-floor")
    for _ in range(3 if quick else 5):
        port = free_port()
        with Server("plain-floor", [str(python), "heavy_floor.py", str(port)], cwd=app_dir, env=ws.env(), port=port, out=ws.out_file("heavy-floor")) as server:
            floor.append(server.wait_ready("/version", timeout=120))
        wait_port_free(port)
    plain, dd, fl = median(latencies["plain"]), median(latencies["debugdash"]), median(floor)
    to_plain, to_floor = _ratio(dd, plain), _ratio(dd, fl)
    out = Outcome()
    out.rows.append(Row("15 heavy reload", "file write to the new code served, heavy app", "s", plain, dd, to_plain, "≤ 0.15", to_plain is not None and to_plain <= 0.15))
    out.rows.append(Row("15 heavy reload", "against the floor (fresh interpreter imports the heavy app)", "s", fl, dd, to_floor, "≤ 0.35", to_floor is not None and to_floor <= 0.35))
    out.samples = {"latency": latencies, "floor": floor}
    return out


def startup_matrix(ws: Workspace, quick: bool) -> Outcome:
    python = heavy_python()
    reps = 3 if quick else 6
    out = Outcome()
    for app, reload in (("small", True), ("small", False), ("heavy", True), ("heavy", False)):
        app_dir = ws.app_dir(f"start-{app}-{reload}") if app == "small" else _heavy_dir(ws, f"start-{app}-{reload}")
        times: dict[str, list[float]] = {"plain": [], "debugdash": []}
        for rep in range(reps):
            for side in _sides(rep):
                make = _small_server(ws, side, app_dir, reload=reload) if app == "small" else _heavy_server(ws, side, app_dir, python, reload=reload)
                with make as server:
                    times[side].append(server.wait_ready("/version", timeout=120))
                wait_port_free(server.port)
                _log(f"start-up {app} {'reload' if reload else 'no-reload'} rep {rep} {side}: {times[side][-1]:.3f} s")
        plain, dd = median(times["plain"]), median(times["debugdash"])
        ratio = _ratio(dd, plain)
        label = f"launch to first 200, {app} app, {'reloader' if reload else '--no-reload'} (headless)"
        out.rows.append(Row("15 start-up", label, "s", plain, dd, ratio, "≤ 1.10", ratio is not None and ratio <= 1.10))
        out.samples[f"{app}-{'reload' if reload else 'no-reload'}"] = times
    return out


def template_idle(ws: Workspace, quick: bool) -> Outcome:
    python = heavy_python()
    seconds = 10.0 if quick else 30.0
    app_dir = _heavy_dir(ws, "template-idle")
    with _heavy_server(ws, "debugdash", app_dir, python) as server:
        server.wait_ready("/version", timeout=120)
        ready = _wait_template(server)
        time.sleep(3)
        supervisor = psutil.Process(server.proc.pid)
        template = psutil.Process(ready["pid"])
        watched = [supervisor, template, *template.children()]
        cpu0, t0 = _cpu(watched), time.perf_counter()
        time.sleep(seconds)
        percent = 100 * (_cpu(watched) - cpu0) / (time.perf_counter() - t0)
        rss = template.memory_info().rss
    wait_port_free(server.port)
    out = Outcome()
    out.rows.append(Row("15 template idle", f"template + supervisor CPU over {seconds:.0f} s idle, heavy app", "% of a core", None, percent, percent, "≤ 1", percent <= 1.0))
    out.rows.append(Row("15 template idle", "template RSS, heavy app", "MB", None, rss / 2**20))
    out.samples = {"cpu_percent": percent, "template_rss": rss}
    return out


def _cpu(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


SCENARIOS = {"heavy-reload": heavy_reload, "startup-matrix": startup_matrix, "template-idle": template_idle}
