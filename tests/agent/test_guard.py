"""The guard: a server that exits on its own while debugdash dies is never left frozen;
the early server's guard is its standby, forked before the server grew, or a
fresh fork when the standby did not arm; either ends the server with debugdash."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import psutil
import pytest

from debugdash.protocol.env import GUARD_FD_ENV, PARENT_PID_ENV

from tests.agent.agentkit import REPO_ROOT, wait_for
from tests.support import alive

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the guard uses Linux's prctl")

# The server's last atexit handler (registered before the guard's, so it runs
# after it) kills debugdash, then lingers: debugdash dies *during* a normal
# exit, as when a warm spare reads end of file because debugdash is dying.
SERVER = textwrap.dedent(
    """
    import atexit, os, signal, time
    debugdash = int(os.environ["DEBUGDASH_PARENT_PID"])
    def debugdash_dies_now():
        os.kill(debugdash, signal.SIGKILL)
        time.sleep(30)
    atexit.register(debugdash_dies_now)
    from debugdash.agent import guard
    guard.protect()
    print(os.getpid(), guard._guard_pid, flush=True)
    """
)

# Stands in for debugdash: the only writer of the guard's pipe, the server's parent.
DEBUGDASH = textwrap.dedent(
    """
    import os, subprocess, sys
    r, w = os.pipe()
    env = {{**os.environ, {parent!r}: str(os.getpid()), {guard_fd!r}: str(r)}}
    server = subprocess.Popen([sys.executable, "-c", sys.argv[1]], env=env, pass_fds=(r,))
    os.close(r)
    server.wait()
    """
).format(parent=PARENT_PID_ENV, guard_fd=GUARD_FD_ENV)


def test_a_server_exiting_while_debugdash_dies_is_not_left_frozen() -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    debugdash = subprocess.Popen(
        [sys.executable, "-c", DEBUGDASH, SERVER], env=env, stdout=subprocess.PIPE, text=True
    )
    server_pid = guard_pid = 0
    try:
        server_pid, guard_pid = map(int, debugdash.stdout.readline().split())
        server = psutil.Process(server_pid)
        wait_for(lambda: not alive([psutil.Process(debugdash.pid)]), timeout=10, what="debugdash killed while the server exits")
        # Its guard was ended by the server's own exit, so only the kernel can end
        # the server now: frozen by a SIGSTOP it would stay for ever.
        wait_for(lambda: not alive([server]), timeout=10, what="server ended with debugdash")
    finally:
        for pid in (server_pid, guard_pid, debugdash.pid):
            if pid:
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass
        debugdash.wait(timeout=10)


# An early server: its standby is forked first thing; ``gone`` kills it before
# the server arms its guard. The server then waits for the stand-in to be killed.
EARLY_SERVER = textwrap.dedent(
    """
    import os, signal, sys, time
    from debugdash.agent import standby
    standby.start()
    standby_pid = standby._standby[0]
    if sys.argv[1] == "gone":
        os.kill(standby_pid, signal.SIGKILL)
    grown = [bytearray(1 << 20) for _ in range(64)]  # the server grows after its standby was forked
    from debugdash.agent import guard
    guard.protect()
    print(standby_pid, guard._guard_pid, flush=True)
    time.sleep(60)
    """
)


@pytest.mark.parametrize("standby", ["armed", "gone"])
def test_the_early_servers_guard_is_its_standby_or_a_fresh_fork_and_ends_it_with_debugdash(standby: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    script = DEBUGDASH.replace("[sys.executable, \"-c\", sys.argv[1]]", "[sys.executable, \"-c\", sys.argv[1], sys.argv[2]]")
    debugdash = subprocess.Popen([sys.executable, "-c", script, EARLY_SERVER, standby], env=env, stdout=subprocess.PIPE, text=True)
    pids: list[int] = []
    try:
        standby_pid, guard_pid = map(int, debugdash.stdout.readline().split())
        server = psutil.Process(debugdash.pid).children()[0]
        pids = [server.pid, guard_pid]
        guard = psutil.Process(guard_pid)
        assert guard.ppid() == server.pid
        if standby == "armed":
            # Forked before the server grew: it holds none of the server's 64 MB.
            assert guard_pid == standby_pid
            assert guard.memory_info().rss < server.memory_info().rss / 2
        else:  # a standby that never armed is not relied on: the server forked a guard of its own
            assert guard_pid != standby_pid
        os.kill(debugdash.pid, 9)
        wait_for(lambda: not alive([server, guard]), timeout=10, what="the server and its guard ended with debugdash")
    finally:
        for pid in (*pids, debugdash.pid):
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        debugdash.wait(timeout=10)
