"""The app's stdout and stderr: prompt without per-line system calls, nothing lost at exit."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from tests.agent.agentkit import REPO_ROOT

PRELUDE = """
import logging, sys
from debugdash.agent import output
output.start_flusher()
"""


def _spawn(body: str, *, unbuffered: bool = False) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.pop("PYTHONUNBUFFERED", None)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    return subprocess.Popen(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(body)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


#: PYTHONUNBUFFERED (Docker images and CI set it) must change none of these promises.
_BOTH = pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "PYTHONUNBUFFERED"])


def _read_until(fd: int, needle: bytes, timeout: float = 30.0) -> bytes:
    os.set_blocking(fd, False)
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            time.sleep(0.01)
            continue
        if not chunk:
            break
        seen += chunk
    return seen


@_BOTH
def test_print_and_logging_show_while_the_app_runs_without_a_flush(unbuffered: bool) -> None:
    proc = _spawn(
        """
        print("from print")
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        logging.getLogger("app").info("from logging")
        sys.stdin.readline()  # stay alive until the test has seen both
        """,
        unbuffered=unbuffered,
    )
    try:
        assert b"from print" in _read_until(proc.stdout.fileno(), b"from print")
        assert b"from logging" in _read_until(proc.stderr.fileno(), b"from logging")
    finally:
        proc.kill()
        proc.wait()


@_BOTH
def test_nothing_is_lost_at_exit_or_on_a_reloader_exit(unbuffered: bool) -> None:
    for ending in ("pass", "sys.exit(3)"):
        proc = _spawn(
            f"""
            for i in range(3000):
                print(f"out {{i}}")
                print(f"err {{i}}", file=sys.stderr, flush=True)
            sys.stderr.write("last\\u2603 \\udcff")
            {ending}
            """,
            unbuffered=unbuffered,
        )
        out, err = proc.communicate(timeout=20)
        assert out.splitlines()[-1] == b"out 2999" and len(out.splitlines()) == 3000
        assert err.count(b"\n") == 3000
        # stderr keeps its encoding and its error handler (surrogates are escaped, not fatal)
        assert err.endswith("last\u2603 \\udcff".encode())


@_BOTH
def test_last_words_before_a_hard_exit_are_not_lost(unbuffered: bool) -> None:
    proc = _spawn(
        """
        import os, time
        print("stdout last words", flush=True)
        time.sleep(0.1)  # a quiet moment, then the last words on stderr
        print("stderr last words", file=sys.stderr, flush=True)
        os._exit(7)
        """,
        unbuffered=unbuffered,
    )
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 7
    assert out == b"stdout last words\n"
    assert err == b"stderr last words\n"


@pytest.mark.skipif(not os.path.exists("/proc/self/io"), reason="counts write system calls in /proc/self/io (Linux)")
@_BOTH
def test_a_flood_of_prints_is_not_a_system_call_per_line(unbuffered: bool) -> None:
    proc = _spawn(
        """
        def writes():
            with open("/proc/self/io") as counters:
                return next(int(line.split()[1]) for line in counters if line.startswith("syscw:"))
        before = writes()
        for i in range(10_000):
            print(f"line {i}")
        sys.stdout.flush()
        sys.stderr.write(f"{writes() - before}\\n")
        """,
        unbuffered=unbuffered,
    )
    out, err = proc.communicate(timeout=30)
    assert out.count(b"\n") == 10_000
    # 10,000 lines of ~10 bytes are ~100 KB: a few block writes (and the flusher's), not 10,000.
    assert int(err.splitlines()[-1]) < 100


@_BOTH
def test_output_after_a_quiet_spell_still_shows_without_a_flush(unbuffered: bool) -> None:
    # The flusher sleeps between writes: each new spell of output must wake it,
    # whichever way it is written, each way alone.
    proc = _spawn(
        """
        import time

        def quiet_spell():
            sys.stdin.readline()
            time.sleep(0.3)  # the scenario: the last flush is long done, the flusher asleep

        for word in ("one", "two"):
            quiet_spell()
            print(f"out {word}")
            quiet_spell()
            sys.stderr.write(f"err {word}\\n")  # no flush: as Werkzeug's debugger writes a traceback
            quiet_spell()
            sys.stdout.buffer.write(f"bytes {word}\\n".encode())
        sys.stdin.readline()
        """,
        unbuffered=unbuffered,
    )
    try:
        for word in (b"one", b"two"):
            for stream, line in ((proc.stdout, b"out "), (proc.stderr, b"err "), (proc.stdout, b"bytes ")):
                proc.stdin.write(b"go\n")
                proc.stdin.flush()
                # Within a tenth of a second, normally; well before the 5 s backstop in any case.
                assert line + word in _read_until(stream.fileno(), line + word, timeout=4)
    finally:
        proc.kill()
        proc.wait()


def _wakeups(pid: int) -> int:
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/status") as status:
            total += sum(int(line.split()[1]) for line in status if line.startswith("voluntary_ctxt_switches"))
    return total


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="counts context switches in /proc (Linux)")
def test_a_quiet_app_is_not_woken_to_flush() -> None:
    proc = _spawn(
        """
        print("ready", flush=True)
        print("pending")  # flushed by the thread, after which nothing is left to do
        sys.stdin.readline()
        """
    )
    try:
        _read_until(proc.stdout.fileno(), b"pending")
        before = _wakeups(proc.pid)
        time.sleep(1.0)  # a window to count wake-ups in, not a wait for something to happen
        # A thread flushing ten times a second would wake ten times here.
        assert _wakeups(proc.pid) - before <= 2
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.skipif(not os.path.exists("/proc/self/io"), reason="counts write system calls in /proc/self/io (Linux)")
def test_a_burst_of_log_lines_arrives_whole_and_in_order_in_a_few_writes() -> None:
    # Werkzeug's access log under load: logging flushes after every line; the first goes out
    # at once, the rest of the burst together, each write one wake-up of debugdash.
    proc = _spawn(
        """
        def writes():
            with open("/proc/self/io") as counters:
                return next(int(line.split()[1]) for line in counters if line.startswith("syscw:"))
        handler = logging.StreamHandler(sys.stderr)
        log = logging.getLogger("access")
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        before = writes()
        for i in range(2000):
            log.info("GET /json %04d 200", i)
        sys.stdin.readline()  # the test has read the whole burst: count the writes it took
        print(writes() - before, flush=True)
        sys.stdin.readline()
        """
    )
    try:
        err = _read_until(proc.stderr.fileno(), b"GET /json 1999 200\n")
        assert err.decode().splitlines() == [f"GET /json {i:04d} 200" for i in range(2000)]
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
        count = int(_read_until(proc.stdout.fileno(), b"\n"))
        assert count < 50  # not a write per line (2,000)
    finally:
        proc.kill()
        proc.wait()
