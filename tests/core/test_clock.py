"""The product's clock cannot be moved from outside the process (issue 9.5)."""

from __future__ import annotations

import subprocess
import sys

from tests.support import REPO_ROOT, TIMETRAVEL_DIR


def _clock_in_fresh_interpreter(env: dict[str, str]) -> str:
    code = "import time; from debugdash.protocol.clock import system_clock; print(system_clock() is time.monotonic)"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_system_clock_is_the_monotonic_clock_whatever_the_environment(tmp_path) -> None:
    offset = tmp_path / "offset"
    offset.write_text("99998")
    env = {"PATH": "/usr/bin:/bin", "DEBUGDASH_CLOCK_OFFSET_FILE": str(offset), "DEBUGDASH_TEST_CLOCK_FILE": str(offset)}
    assert _clock_in_fresh_interpreter(env) == "True"


def test_the_time_travel_hook_lives_only_in_the_test_tree(tmp_path) -> None:
    # The test harness's own hook does work, which is what makes the check above mean something.
    offset = tmp_path / "offset"
    offset.write_text("99998")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(TIMETRAVEL_DIR), "DEBUGDASH_TEST_CLOCK_FILE": str(offset)}
    assert _clock_in_fresh_interpreter(env) == "False"
    assert TIMETRAVEL_DIR.is_relative_to(REPO_ROOT / "tests")
