"""An idle session stays asleep: no process of debugdash's tree wakes several
times a second to look whether something happened (on a busy machine each
wake-up costs more than the look), and a save is still seen at once."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil
import pytest

from tests.support import SIMPLE_APP, free_port, http, wait_for, write_app

#: Wake-ups a second an idle server process may have: Werkzeug's own serve
#: loop (0.5 s, as under plain `flask run`), a look a second for new modules,
#: and on a busy machine the GIL handed between them. Any loop polling at
#: 10 Hz is far above it.
MOST_PER_SECOND = 7.0
#: The supervisor's event loop: the one tick a second (stats); an exit polled
#: every 0.5 s would add two.
SUPERVISOR_LOOP_PER_SECOND = 3.0
WINDOW = 5.0


def _wakeups(proc: psutil.Process, *, main_thread_only: bool = False) -> int:
    total = 0
    for task in [str(proc.pid)] if main_thread_only else os.listdir(f"/proc/{proc.pid}/task"):
        try:
            with open(f"/proc/{proc.pid}/task/{task}/status") as status:
                total += sum(int(line.split()[1]) for line in status if line.startswith("voluntary_ctxt_switches"))
        except OSError:
            continue  # a thread that ended
    return total


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="counts context switches in /proc (Linux)")
def test_no_process_of_an_idle_session_polls_and_a_save_still_reloads(session_factory, tmp_path: Path) -> None:
    app = write_app(tmp_path, SIMPLE_APP)
    port = free_port()
    session = session_factory("--app", "app", "--port", str(port))
    ready = session.wait_event("ready")
    assert http(port, "/")[0] == 200
    # The first worker lists its modules for the template a second after it serves; let that settle.
    session.wait_event("template", timeout=60)
    time.sleep(2.0)  # start-up's last work (the template's imports) done
    tree = session.tree()
    supervisor = session.proc.pid

    def count(proc: psutil.Process) -> int:
        return _wakeups(proc, main_thread_only=proc.pid == supervisor)

    before = {proc.pid: count(proc) for proc in tree}
    time.sleep(WINDOW)  # a window to count wake-ups in, not a wait for something to happen
    busy = {}
    for proc in tree:
        if not proc.is_running():
            continue
        rate = (count(proc) - before[proc.pid]) / WINDOW
        if rate > (SUPERVISOR_LOOP_PER_SECOND if proc.pid == supervisor else MOST_PER_SECOND):
            busy[f"{proc.pid} {' '.join(proc.cmdline())[-60:]}"] = rate
    assert not busy, f"idle processes waking more than allowed (supervisor {supervisor}): {busy}"

    mark = session.mark()
    app.write_text(app.read_text().replace('"hello"', '"hello again"'))
    session.wait_event("reload", since=mark, timeout=30)
    session.wait_event("ready", lambda e: e.get("pid") != ready.get("pid"), since=mark, timeout=30)
    wait_for(lambda: http(port, "/")[1] == "hello again", timeout=30, what="the new code served")
