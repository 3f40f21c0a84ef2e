"""debugdash installed without the `mcp` extra (its own environment, as pipx
installs it): `debugdash mcp` says in one line how to get it, exit code 2."""

from __future__ import annotations

from pathlib import Path

from tests.compat.environments import pipx_debugdash
from tests.support import run_cli


def test_without_the_extra_mcp_names_the_install_command(tmp_path: Path) -> None:
    command = pipx_debugdash()
    result = run_cli("mcp", cwd=tmp_path, executable=command)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr == "Error: debugdash mcp needs the MCP SDK, an optional extra: pip install 'debugdash[mcp]'\n"
