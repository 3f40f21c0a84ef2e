"""Helpers for dashboard tests: a real Supervisor on a real Flask server, real
HTTP requests, and polling the running app with a deadline."""

from __future__ import annotations

import asyncio
import html
import http.client
import re
import stat
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psutil
import pytest
from textual.pilot import Pilot

from debugdash.core.settings import Settings
from debugdash.core.supervisor import Supervisor
from debugdash.tui.app import DashboardApp
from tests.support import alive, free_port

DEMO_APP = "debugdash.demo.app:app"
DEMO_DIR = Path(__file__).resolve().parents[2] / "debugdash" / "demo"


def demo_line(fragment: str) -> int:
    """The line number of the demo app's source line containing ``fragment``."""
    lines = (DEMO_DIR / "app.py").read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if fragment in line)


#: Where /divide raises.
DIVIDE = "numerator / denominator"


def request(port: int, path: str = "/", *, source: str = "127.0.0.1", timeout: float = 15.0) -> tuple[int, str]:
    """One real HTTP GET from ``source``; returns the status and the body text."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


async def arequest(port: int, path: str = "/", **kwargs: Any) -> tuple[int, str]:
    return await asyncio.to_thread(request, port, path, **kwargs)


async def until(pilot: Pilot, predicate: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """Let the app run until ``predicate()`` is truthy; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {(what() if callable(what) else what) or predicate}")
        await pilot.pause(0.05)


def children() -> list[psutil.Process]:
    """Every process this test process started (the server tree, debugpy adapters)."""
    return psutil.Process().children(recursive=True)


def plain(widget: Any) -> str:
    """The text a Static shows."""
    content = widget.content
    return content.plain if hasattr(content, "plain") else str(content)


_SVG_TEXT = re.compile(r'<text [^>]*?x="([0-9.]+)" [^>]*?textLength="([0-9.]+)" clip-path="url\(#[^)]*-line-(\d+)\)">(.*?)</text>')


def screen_lines(app: Any) -> list[str]:
    """The terminal as the user sees it now (modal screens, toasts and all), one string per row.

    Read from the app's own screenshot, so it is exactly what was drawn.
    """
    width, height = app.size
    rows = [[" "] * width for _ in range(height)]
    for x, length, line, escaped in _SVG_TEXT.findall(app.export_screenshot()):
        text = html.unescape(escaped).replace("\xa0", " ")
        cell = float(length) / len(text)
        column, row = round(float(x) / cell), int(line)
        if row < height:
            rows[row][column : column + len(text)] = text
    return ["".join(row)[:width].rstrip() for row in rows]


def screen_text(app: Any) -> str:
    return "\n".join(screen_lines(app))


def toasts(app: Any) -> list[str]:
    """The notifications on screen now, each as its title and message drawn in one line.

    ``run_test`` draws none unless asked: pass ``notifications=True``.
    """
    return [" ".join(toast.render().plain.split()) for toast in app.screen.query("Toast")]


def rows_on_screen(widget: Any) -> list[str]:
    """A scrolling widget's visible rows as drawn (DataTable, OptionList, the log view)."""
    return [widget.render_line(y).text for y in range(widget.size.height)]


_PID = re.compile(r"\bpid (\d+)")


def shown_pid(app: DashboardApp) -> str | None:
    """The serving process's pid as the status line shows it."""
    match = _PID.search(plain(app.query_one("#status")))
    return match.group(1) if match else None


def traceback_lines(app: DashboardApp) -> list[str]:
    """The traceback view's rows as plain text."""
    from debugdash.tui.widgets.traceback import TracebackView

    view = app.query_one(TracebackView)
    return [str(getattr(option.prompt, "plain", option.prompt)) for option in view.options]


def table_rows(table: Any) -> list[list[str]]:
    return [[getattr(cell, "plain", str(cell)) for cell in table.get_row_at(i)] for i in range(table.row_count)]


@pytest.fixture
def demo_settings(tmp_path: Path) -> Settings:
    """Settings for the bundled demo app on a free port, attach port free too."""
    return Settings.for_tests(
        app=DEMO_APP,
        port=free_port(),
        attach_port=free_port(),
        cwd=tmp_path,
        python=sys.executable,
    )


#: How long the server tree may take to disappear after the supervisor stopped.
TREE_GONE_WITHIN = 15.0


@asynccontextmanager
async def running_dashboard(
    settings: Settings, *, size: tuple[int, int] = (100, 32), clock: Any = None
) -> AsyncIterator[tuple[DashboardApp, Pilot, Supervisor]]:
    """The dashboard on a started Supervisor, waited until the server is ready.

    On the way out the app is closed and every process of the server tree must be
    gone: a leftover fails the test (after it is killed by pid, so tests never leak).
    """
    supervisor = Supervisor(settings, clock=clock)
    app = DashboardApp(supervisor)
    seen: list[psutil.Process] = []
    passed = False
    try:
        async with app.run_test(size=size, notifications=True) as pilot:
            try:
                # As drawn: the status line shows the running server (and its pid).
                await until(pilot, lambda: " running " in plain(app.query_one("#status")), what="the server to be ready")
            except AssertionError:
                output = "\n".join(line.text for line in supervisor.logs.tail(30))
                raise AssertionError(f"the server never became ready; phase {app.state.phase}; output:\n{output}")
            seen.extend(children())
            yield app, pilot, supervisor
            seen.extend(children())
        passed = True
    finally:
        await supervisor.stop()
        deadline = time.monotonic() + TREE_GONE_WITHIN
        while alive(seen) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        left = {proc.pid: proc for proc in alive(seen)}.values()
        leftovers = [f"{proc.pid} {' '.join(_cmdline(proc))}" for proc in left]
        for proc in left:
            proc.kill()
    # Only when the test itself passed: otherwise its own failure is the one to read.
    if passed:
        assert not leftovers, f"the server tree outlived the dashboard: {leftovers}"


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []


@pytest.fixture
def editor_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$EDITOR set to a script that writes its arguments to the returned file (absent until it runs)."""
    record = tmp_path / "editor-args"
    editor = tmp_path / "fake-editor"
    editor.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\n')
    editor.chmod(editor.stat().st_mode | stat.S_IXUSR)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", str(editor))
    return record
