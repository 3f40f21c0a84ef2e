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


def _get(port: int, path: str) -> None:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=15).read()
    except urllib.error.HTTPError:
        pass


async def _until(pilot, predicate, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise SystemExit("the dashboard did not get there in time")
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

        await pilot.press("a")
        await _until(pilot, lambda: app.state.attach.port is not None)
        # Attach turns the reloader off, which restarts the server: show it back up.
        await _until(pilot, lambda: app.state.phase == "running" and not supervisor.toggles.reloader)
        await pilot.press("5")
        app.clear_notifications()
        await pilot.pause(0.5)
        _write(app, out, "external-attach")
        await pilot.press("a")
        await _until(pilot, lambda: not supervisor.toggles.attach)

        await pilot.press("question_mark")
        await pilot.pause(0.3)
        _write(app, out, "help")
        await pilot.press("escape")
        await pilot.press("q")
    await supervisor.stop()


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
