"""The app's stdout and stderr: prompt without per-line system calls, nothing lost at exit."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

from tests.agent.agentkit import REPO_ROOT

PRELUDE = """
import logging, sys
from debugdash.agent import output
output.start_flusher()
"""


def _spawn(body: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.pop("PYTHONUNBUFFERED", None)
    return subprocess.Popen(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(body)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


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


def test_print_and_logging_show_while_the_app_runs_without_a_flush() -> None:
    proc = _spawn(
        """
        print("from print")
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        logging.getLogger("app").info("from logging")
        sys.stdin.readline()  # stay alive until the test has seen both
        """
    )
    try:
        assert b"from print" in _read_until(proc.stdout.fileno(), b"from print")
        assert b"from logging" in _read_until(proc.stderr.fileno(), b"from logging")
    finally:
        proc.kill()
        proc.wait()


def test_nothing_is_lost_at_exit_or_on_a_reloader_exit() -> None:
    for ending in ("pass", "sys.exit(3)"):
        proc = _spawn(
            f"""
            for i in range(3000):
                print(f"out {{i}}")
                print(f"err {{i}}", file=sys.stderr, flush=True)
            sys.stderr.write("last\\u2603 \\udcff")
            {ending}
            """
        )
        out, err = proc.communicate(timeout=20)
        assert out.splitlines()[-1] == b"out 2999" and len(out.splitlines()) == 3000
        assert err.count(b"\n") == 3000
        # stderr keeps its encoding and its error handler (surrogates are escaped, not fatal)
        assert err.endswith("last\u2603 \\udcff".encode())


def test_last_words_before_a_hard_exit_are_not_lost() -> None:
    proc = _spawn(
        """
        import os, time
        print("stdout last words", flush=True)
        time.sleep(0.1)  # a quiet moment, then the last words on stderr
        print("stderr last words", file=sys.stderr, flush=True)
        os._exit(7)
        """
    )
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 7
    assert out == b"stdout last words\n"
    assert err == b"stderr last words\n"
