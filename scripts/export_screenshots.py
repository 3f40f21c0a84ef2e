"""Write screenshots of the dashboard's main screens to screenshots/ (SVG, and PNG
when rsvg-convert is installed).

Everything on them is real: the dashboard runs headless on a real Supervisor
serving the bundled demo app, and the errors come from real HTTP requests.

    python scripts/export_screenshots.py [--size 120x36] [--out screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from debugdash.core.settings import Settings
from debugdash.core.supervisor import Supervisor
from debugdash.tui.app import DashboardApp
from debugdash.tui.widgets.console import FrameConsole
from debugdash.tui.widgets.traceback import TracebackView


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str, *, method: str = "GET", headers: dict[str, str] | None = None, body: bytes | None = None) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers=headers or {}, method=method)
    try:
        urllib.request.urlopen(request, timeout=15).read()
    except urllib.error.HTTPError:
        pass


def _refused(port: int, source: str) -> None:
    """A debugger request from another machine (an address of the loopback network plays it)."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15, source_address=(source, 0))
    try:
        conn.request("GET", "/console")
        conn.getresponse().read()
    finally:
        conn.close()


async def _until(pilot, predicate, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise SystemExit(f"the dashboard did not get there in time: line {predicate.__code__.co_firstlineno} (phase {pilot.app.state.phase}, {pilot.app.sup.toggles})")
        await pilot.pause(0.1)


def _write(app: DashboardApp, out: Path, name: str) -> None:
    svg = app.export_screenshot(title=f"debugdash — {name.replace('-', ' ')}")
    (out / f"{name}.svg").write_text(svg)
    converter = shutil.which("rsvg-convert")
    if converter is None:
        return
    # rsvg drops leading non-breaking spaces, which Textual uses for every space.
    with tempfile.NamedTemporaryFile("w", suffix=".svg", delete=False) as tmp:
        tmp.write(svg.replace("&#160;", " ").replace("<svg ", '<svg xml:space="preserve" ', 1))
    try:
        subprocess.run([converter, tmp.name, "-o", str(out / f"{name}.png")], check=True)
    finally:
        os.unlink(tmp.name)
    print(f"wrote {out / name}.svg and .png")


async def _shoot(out: Path, size: tuple[int, int], workdir: Path) -> None:
    port = _free_port()
    settings = Settings.for_tests(
        app="debugdash.demo.app:app",
        port=port,
        attach_port=_free_port(),
        cwd=workdir,
        python=sys.executable,
    )
    supervisor = Supervisor(settings)
    app = DashboardApp(supervisor)
    async with app.run_test(size=size) as pilot:
        await _until(pilot, lambda: app.state.phase == "running")
        for path in ("/divide", "/template-key", "/divide", "/chained", "/stream"):
            await asyncio.to_thread(_get, port, path)
        await _until(pilot, lambda: app.state.error_count >= 5)
        await pilot.pause(1.2)
        app.clear_notifications()
        await pilot.pause(0.3)
        _write(app, out, "dashboard-errors")

        await pilot.press("down")
        await pilot.pause(0.3)
        app.query_one(TracebackView).focus()
        await pilot.press("enter")
        await pilot.pause(0.3)
        _write(app, out, "traceback-locals")

        # The console in the raising frame of that traceback (issue 13).
        await pilot.press("i")
        await pilot.pause(0.3)
        console = app.query_one(FrameConsole)
        for line in ('config["port"]', "awkward", "int(config['port'])", "print(sorted(config))"):
            await pilot.press(*[{" ": "space"}.get(c, c) for c in line], "enter")
            await pilot.pause(0.1)
            await _until(pilot, lambda: not console.running)
        await pilot.pause(0.3)
        _write(app, out, "console")
        await pilot.press("escape")

        await pilot.press("2")
        await pilot.pause(0.5)
        _write(app, out, "server-log")

        # Requests: a JSON API call with credentials (shown redacted), a page, a failure.
        await asyncio.to_thread(_get, port, "/json?page=2&token=s3cr3t", headers={"Authorization": "Bearer abc123"})
        await asyncio.to_thread(_get, port, "/ok")
        await asyncio.to_thread(_get, port, "/missing")
        secret = {"Authorization": "Bearer abc123", "Cookie": "session=s3cr3t"}
        await asyncio.to_thread(_get, port, "/divide?n=7", headers=secret)
        await pilot.press("6")
        table = app.query_one("#requests-table")
        try:
            await _until(pilot, lambda: table.row_count >= 4 and "/divide?n=7" in str(table.get_row_at(0)[2]))
        except SystemExit:
            print("DEBUG", [(r.id, r.path, r.query) for r in supervisor.requests.records(limit=8)], table.row_count, [str(table.get_row_at(i)[2]) for i in range(min(4, table.row_count))])
            raise
        app.clear_notifications()
        await pilot.pause(1.2)
        _write(app, out, "requests")

        await asyncio.to_thread(_refused, port, "127.0.0.3")
        await supervisor.grant("203.0.113.7", what="debugger", ttl="15m")
        await supervisor.grant("198.51.100.0/24", what="both", ttl="50s")
        await pilot.press("4")
        app.clear_notifications()
        await pilot.pause(1.2)
        _write(app, out, "remote-access")

        await pilot.press("g")
        await pilot.pause(0.3)
        await pilot.press(*"010.0.0.1")
        await pilot.pause(0.3)
        _write(app, out, "grant-modal")
        await pilot.press("escape")

        await pilot.press("question_mark")
        await pilot.pause(0.3)
        _write(app, out, "help")
        await pilot.press("escape")

        await pilot.press("1")  # off the Access tab's tables: their keys are their own
        app.query_one(TracebackView).focus()
        await pilot.press("a")
        await _until(pilot, lambda: supervisor.toggles.attach and supervisor.attach_help() is not None)
        await _until(pilot, lambda: app.state.phase == "running" and not supervisor.toggles.debugger)
        await pilot.press("5")
        app.clear_notifications()
        await pilot.pause(0.5)
        _write(app, out, "external-attach")

        await _paused(app, pilot, port, settings.attach_port, out)
        await pilot.press("a")
        await _until(pilot, lambda: not supervisor.toggles.attach)
        await pilot.press("q")
    await supervisor.stop()


async def _paused(app: DashboardApp, pilot, port: int, attach_port: int, out: Path) -> None:
    """An IDE (the tests' DAP client, sending what VS Code sends) stopped at a
    breakpoint in the demo, and a save of that file waiting for it."""
    from tests.dap import DapClient

    import debugdash.demo.app as demo

    source = Path(demo.__file__)
    line = next(n for n, text in enumerate(source.read_text().splitlines(), 1) if "numerator / denominator" in text)
    dap = await asyncio.to_thread(DapClient.connect, "127.0.0.1", attach_port)
    try:
        await asyncio.to_thread(dap.initialize)
        await asyncio.to_thread(dap.attach, {str(source): [line]})
        request = asyncio.ensure_future(asyncio.to_thread(_get, port, "/divide?n=7"))
        await _until(pilot, lambda: app.state.attach.paused is not None)
        # A save while stopped: the mtime alone is a change to the reloader.
        info = source.stat()
        os.utime(source, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000))
        await _until(pilot, lambda: app.state.attach.reload_pending is not None)
        app.clear_notifications()
        await pilot.pause(0.5)
        _write(app, out, "debug-paused")
        stopped = await asyncio.to_thread(dap.wait_event, "stopped")
        await asyncio.to_thread(dap.request, "continue", {"threadId": stopped["body"]["threadId"]})
        await request
        await asyncio.to_thread(dap.request, "disconnect", {"terminateDebuggee": False})
    finally:
        dap.close()
    await _until(pilot, lambda: app.state.phase == "running" and app.state.attach.reload_pending is None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="120x36", help="terminal size, WIDTHxHEIGHT")
    parser.add_argument("--out", default=str(REPO / "screenshots"), help="directory to write to")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.lower().split("x"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="debugdash-shots-") as workdir:
        asyncio.run(_shoot(out, (width, height), Path(workdir)))


if __name__ == "__main__":
    main()
