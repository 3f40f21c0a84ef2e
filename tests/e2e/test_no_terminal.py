"""The dashboard needs a terminal; started without one it says what to use instead."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support import debugdash_command, free_port


def test_the_dashboard_without_a_terminal_says_to_use_headless(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with out.open("wb") as stdout:
        result = subprocess.run([*debugdash_command("demo", "--port", str(free_port()))], stdin=subprocess.DEVNULL,
                                stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: the dashboard needs a terminal; without one, use --headless (and --json for JSON lines)"
    ]
    assert out.read_bytes() == b"", "no escape codes written to a file"
