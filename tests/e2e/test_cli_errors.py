"""Bad input from the user: one line that names the fix, exit code 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import SIMPLE_APP, run_cli, write_app


# Each expected text is the part of the message that tells the user what to do,
# not just the input echoed back.
@pytest.mark.parametrize(
    "args, expected",
    [
        (["--port", "abc"], "--port must be an integer from 1 to 65535, not 'abc'"),
        (["--port", "70000"], "--port 70000 is out of range; use a number from 1 to 65535"),
        (["--attach-port", "-1"], "--attach-port -1 is out of range; use a number from 1 to 65535"),
        (["--script", "missing.py"], "--script missing.py: no such file; give the path of the file that calls app.run()"),
        (["--app", "app", "--script", "app.py"], "give --app or --script, not both"),
        (["--host", "not an address"], "is not an IP address; use 127.0.0.1, 0.0.0.0 or this machine's address"),
        (["--ttl", "0"], "--ttl 0 must be positive, e.g. 15m"),
        (["--ttl", "banana"], "--ttl: 'banana' is not a duration; write it like 90s, 15m, 2h or 1h30m"),
        (["--ttl", "9h"], "at most 8h"),
        (["--allow", "example.com"], "use an IP address"),
        (["--allow", "10.0.0.0/8"], "add --wide to grant a network this large"),
        (["--python", "/nonexistent/python"], "--python /nonexistent/python: no such interpreter; give the path of the app's python"),
        (["--json"], "--json goes with --headless"),
        (["allow", "010.0.0.1"], "write 10.0.0.1 if that is what you mean"),
        (["allow", "203.0.113.7", "--for", "-5m"], "'-5m' is negative; give a duration such as 15m"),
        (["revoke"], "give an ADDRESS or --all"),
        (["toggle", "debugger", "on"], "no debugdash session is running; start one with `debugdash --app yourapp`"),
    ],
)
def test_bad_input_gets_one_line_and_exit_code_2(tmp_path: Path, args: list[str], expected: str) -> None:
    write_app(tmp_path, SIMPLE_APP)
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert expected in lines[0]
    assert "Traceback" not in result.stderr


def test_no_app_to_run_says_how_to_name_one(tmp_path: Path) -> None:
    result = run_cli("--headless", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "Error: no app found: pass --app module or --script file.py, set FLASK_APP, "
        "or run from the folder holding app.py or wsgi.py"
    )


def test_pyproject_settings_apply_and_unknown_keys_are_refused(tmp_path: Path) -> None:
    write_app(tmp_path, SIMPLE_APP)
    (tmp_path / "pyproject.toml").write_text('[tool.debugdash]\nport = "nope"\n')
    result = run_cli("--headless", cwd=tmp_path)
    assert result.returncode == 2
    assert "pyproject.toml [tool.debugdash] port must be an integer, not 'nope'" in result.stderr

    (tmp_path / "pyproject.toml").write_text('[tool.debugdash]\nprot = 5001\n')
    result = run_cli("--headless", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown key 'prot' in pyproject.toml [tool.debugdash]" in result.stderr
    assert "known keys: allow, app," in result.stderr

    (tmp_path / "pyproject.toml").write_text("[tool.debugdash\n")
    result = run_cli("--headless", cwd=tmp_path)
    assert result.returncode == 2 and "not valid TOML" in result.stderr
    assert "fix the file or remove [tool.debugdash]" in result.stderr


def test_pyproject_is_read_and_the_command_line_wins(tmp_path: Path) -> None:
    from debugdash.core.settings import resolve

    write_app(tmp_path, SIMPLE_APP)
    (tmp_path / "pyproject.toml").write_text('[tool.debugdash]\nport = 5123\nreload = false\nttl = "30m"\n')
    settings = resolve({}, cwd=tmp_path, environ={"FLASK_RUN_PORT": "5999"})
    assert (settings.port, settings.reload, settings.ttl) == (5123, False, 1800)
    settings = resolve({"port": "5200"}, cwd=tmp_path, environ={})
    assert settings.port == 5200
