"""`debugdash mcp` when it cannot serve: one line naming the fix, exit code 2,
nothing on stdout (an agent's client reads stdout as the protocol)."""

from __future__ import annotations

from pathlib import Path

from tests.support import run_cli


def test_without_a_session_it_says_so_in_one_line(tmp_path: Path) -> None:
    result = run_cli("mcp", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "Error: no debugdash session is running; start one with `debugdash --app yourapp`\n"


def test_a_port_without_a_session_names_the_command_that_lists_them(tmp_path: Path) -> None:
    result = run_cli("mcp", "--port", "5999", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "Error: no debugdash session is running on port 5999; `debugdash status` lists sessions"
    ]
