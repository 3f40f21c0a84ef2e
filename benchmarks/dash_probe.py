"""Measurements that need the dashboard itself: run in a fresh process by run.py.

``python benchmarks/dash_probe.py errors APP_DIR PORT COUNT``
    The real Supervisor and DashboardApp (headless Pilot, 100x32) on the
    benchmark app. COUNT failing requests, one at a time; for each: from the
    client having the 500 response to the ``request_error`` event reaching the
    supervisor's subscribers, and to the traceback of that request being on
    the screen (the refresh after the traceback view was given it).

``python benchmarks/dash_probe.py flood APP_DIR PORT LINES``
    The app prints LINES lines while keys are pressed every ~100 ms: time until
    the supervisor consumed the last line and until the log view shows it, the
    latency of each key (sent to the driver, to the refresh after its action
    ran), and this process's RSS before and after.

Prints one JSON object on stdout. Times are seconds.
"""

from __future__ import annotations

import asyncio
import faulthandler
import gc
import http.client
import json
import os
import random
import sys
import time
from pathlib import Path

# Run as a script: import from the repository root, not from benchmarks/ (whose names could shadow the stdlib).
sys.path[0] = str(Path(__file__).resolve().parents[1])

import psutil  # noqa: E402
from textual import events  # noqa: E402

from debugdash.protocol.events import RequestError  # noqa: E402
from debugdash.core.settings import Settings  # noqa: E402
from debugdash.core.supervisor import Supervisor  # noqa: E402
from debugdash.tui.app import DashboardApp  # noqa: E402
from debugdash.tui.widgets.log import LogView  # noqa: E402
from debugdash.tui.widgets.traceback import TracebackView  # noqa: E402

SIZE = (100, 32)


def _get(port: int, path: str, timeout: float = 120.0) -> tuple[int, float]:
    """GET ``path``; returns the status and the perf_counter time the whole response was in."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter()
    finally:
        conn.close()


async def _until(pilot, predicate, timeout: float, what: str) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"not within {timeout} s: {what}")
        await pilot.pause(0.005)


def _settings(app_dir: str, port: int) -> Settings:
    return Settings.for_tests(app="bench_app:app", port=port, cwd=Path(app_dir), python=sys.executable)


async def errors(app_dir: str, port: int, count: int) -> dict:
    supervisor = Supervisor(_settings(app_dir, port))
    app = DashboardApp(supervisor)
    at_supervisor: dict[str, float] = {}
    on_screen: dict[str, float] = {}

    def seen(batch) -> None:
        now = time.perf_counter()
        for event in batch:
            if isinstance(event, RequestError):
                at_supervisor.setdefault(event.path, now)

    supervisor.subscribe(seen)
    result: dict = {"to_supervisor": [], "to_screen": [], "missed_screen": 0}
    try:
        async with app.run_test(size=SIZE) as pilot:
            await _until(pilot, lambda: app.state.phase == "running", 30, "server ready")
            view = app.query_one(TracebackView)
            original = view.show_request_error

            def show(event: RequestError) -> None:
                original(event)
                path = event.path
                app.call_after_refresh(lambda: on_screen.setdefault(path, time.perf_counter()))

            view.show_request_error = show  # type: ignore[method-assign]
            await pilot.pause(0.5)
            for n in range(count):
                path = f"/boom/{n}"
                status, answered = await asyncio.to_thread(_get, port, path)
                try:
                    await _until(pilot, lambda: path in on_screen and path in at_supervisor, 5.0, path)
                except TimeoutError:
                    result["missed_screen"] += 1
                if path in at_supervisor:
                    result["to_supervisor"].append(at_supervisor[path] - answered)
                if path in on_screen:
                    result["to_screen"].append(on_screen[path] - answered)
                await pilot.pause(random.uniform(0.05, 0.15))
            await app.shutdown()
    finally:
        await supervisor.stop()
    return result


async def flood(app_dir: str, port: int, lines: int) -> dict:
    supervisor = Supervisor(_settings(app_dir, port))
    app = DashboardApp(supervisor)
    me = psutil.Process()
    tag = f"t{random.randrange(10**6)}"
    marker = f"FLOOD-DONE {tag}"
    consumed: list[float] = []
    key_sent: list[float] = []
    key_shown: list[float | None] = []
    result: dict = {}

    raw_marker = marker.encode()

    def on_logs() -> None:
        # Look at the newest raw lines only: decoding them here would bill the
        # probe's own work to the dashboard it measures.
        if consumed:
            return
        batches = supervisor.logs.batches_since(supervisor.logs.last_seq - 3)
        if any(raw_marker in line for _, _, lines in batches for line in lines):
            consumed.append(time.perf_counter())

    supervisor.logs.listen(on_logs)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await _until(pilot, lambda: app.state.phase == "running", 30, "server ready")
            original = app.action_show_tab

            def show_tab(tab: str) -> None:
                original(tab)
                index = len(key_shown) - 1
                if index >= 0 and key_shown[index] is None:
                    key_shown[index] = -1.0  # handled; the refresh time follows

                    def shown() -> None:
                        key_shown[index] = time.perf_counter()

                    app.call_after_refresh(shown)

            app.action_show_tab = show_tab  # type: ignore[method-assign]
            await pilot.pause(1.0)
            gc.collect()
            result["rss_before"] = me.memory_info().rss
            view = app.query_one(LogView)
            t0 = time.perf_counter()
            request = asyncio.ensure_future(asyncio.to_thread(_get, port, f"/flood?n={lines}&tag={tag}", 600.0))
            keys = ("2", "1")
            deadline = t0 + 60 + lines / 5000
            while not consumed and time.perf_counter() < deadline:
                if request.done() and answered_grace(request):
                    break  # the app finished long ago and the last line never arrived
                await asyncio.sleep(random.uniform(0.08, 0.12))
                if key_shown and key_shown[-1] is None or (key_shown and key_shown[-1] == -1.0):
                    continue  # the previous key is still pending; don't stack them
                key = keys[len(key_sent) % 2]
                key_sent.append(time.perf_counter())
                key_shown.append(None)
                app._driver.send_message(events.Key(key, key))
            status, answered = await asyncio.wait_for(request, 60)
            result["flood_status"] = status
            result["consumed"] = (consumed[0] - t0) if consumed else None
            result["keys_sent"] = len(key_sent)
            if not consumed:
                result["error"] = "the flood's last line never reached the supervisor"
            else:
                await _until(pilot, lambda: any(marker in line for line in list(view._lines)[-3:]), 30, "marker on screen")
                result["on_screen"] = time.perf_counter() - t0
            await pilot.pause(1.0)
            gc.collect()
            result["rss_after"] = me.memory_info().rss
            result["key_latency"] = [s - k for k, s in zip(key_sent, key_shown) if s is not None and s > 0]
            result["keys_pending"] = sum(1 for s in key_shown if s is None or s < 0)
            result["log_lines_in_view"] = view.line_count
            await app.shutdown()
    finally:
        await supervisor.stop()
    return result


_GRACE = 10.0
_answered_at: dict[int, float] = {}


def answered_grace(request: asyncio.Future) -> bool:
    """True once ``request`` has been done for _GRACE seconds."""
    first = _answered_at.setdefault(id(request), time.perf_counter())
    return time.perf_counter() - first > _GRACE


def main() -> None:
    # A probe that hangs says where, on stderr, before run.py's timeout kills it.
    faulthandler.dump_traceback_later(280, exit=True)
    mode, app_dir, port, amount = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    probe = {"errors": errors, "flood": flood}[mode]
    print(json.dumps(asyncio.run(probe(app_dir, port, amount))), flush=True)


if __name__ == "__main__":
    main()
