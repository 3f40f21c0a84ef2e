"""Where the supervisor's time goes during an output flood (diagnosis, not a benchmark).

    python benchmarks/diag/profile_flood.py headless|json|dashboard|dashboard-log LINES [PATCH...]

Runs the real Supervisor in this process (with the headless printer writing to
/dev/null, or the dashboard under Pilot), floods LINES lines from the benchmark
app, and prints the wall time to consume them and a CPU profile of this process.
PATCH names apply candidate fixes from ``benchmarks/diag/patches.py`` first,
to measure what a proposal would gain before anyone edits debugdash.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[2])

from benchmarks.diag import patches  # noqa: E402
from benchmarks.harness import APPS, free_port, get  # noqa: E402


async def main(mode: str, lines: int) -> None:
    from debugdash.core.settings import Settings
    from debugdash.core.supervisor import Supervisor
    from debugdash.headless import HeadlessPrinter

    app_dir = Path(tempfile.mkdtemp()) / "app"
    shutil.copytree(APPS, app_dir)
    port = free_port()
    supervisor = Supervisor(Settings.for_tests(app="bench_app:app", port=port, cwd=app_dir, python=sys.executable))
    tag = f"t{random.randrange(10**6)}"
    marker = f"FLOOD-DONE {tag}"
    done = asyncio.Event()

    def on_logs() -> None:
        if any(marker in line.text for line in supervisor.logs.tail(3)):
            done.set()

    supervisor.logs.listen(on_logs)
    profile = cProfile.Profile(time.process_time)

    async def flood() -> float:
        while supervisor.phase != "running":
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)
        t0 = time.perf_counter()
        profile.enable()
        threading.Thread(target=get, args=(port, f"/flood?n={lines}&tag={tag}", 600.0), daemon=True).start()
        await asyncio.wait_for(done.wait(), 600)
        elapsed = time.perf_counter() - t0
        profile.disable()
        return elapsed

    if mode.startswith("dashboard"):
        from debugdash.tui.app import DashboardApp

        app = DashboardApp(supervisor)
        async with app.run_test(size=(100, 32)) as pilot:
            if mode == "dashboard-log":  # the Log tab on screen while the flood scrolls by
                await pilot.press("2")
            elapsed = await flood()
            await app.shutdown()
    else:
        with open("/dev/null", "w") as out:
            HeadlessPrinter(supervisor, out, as_json=mode == "json")
            await supervisor.start()
            try:
                elapsed = await flood()
            finally:
                await supervisor.stop()
    await supervisor.stop()
    shutil.rmtree(app_dir.parent, ignore_errors=True)
    print(f"{mode}: {lines} lines consumed in {elapsed:.2f} s (patches: {', '.join(patches.applied) or 'none'})")
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(22)
    print(text.getvalue())


if __name__ == "__main__":
    patches.apply(sys.argv[3:])
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
