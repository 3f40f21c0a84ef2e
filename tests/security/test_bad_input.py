"""Bad input never starts a server quietly and never shows our traceback: one
line on stderr that names where the value came from and what to do, exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import SIMPLE_APP, free_port, run_cli, write_app


def _refused(result: subprocess.CompletedProcess[str], *fix: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout[-500:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for part in fix:
        assert part in lines[0], lines[0]
    assert result.stdout == "", "nothing started"
    return lines[0]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_app(tmp_path, SIMPLE_APP)
    return tmp_path


def test_attach_port_equal_to_the_port(project: Path) -> None:
    port = str(free_port())
    result = run_cli("--headless", "--port", port, "--attach-port", port, cwd=project)
    _refused(result, f"--attach-port {port} is also the server's port", "choose another attach port, e.g. --attach-port 5678")


def test_attach_port_from_pyproject_equal_to_the_port_names_pyproject(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.debugdash]\nport = 5711\nattach-port = 5711\n")
    result = run_cli("--headless", cwd=project)
    _refused(result, "pyproject.toml [tool.debugdash] attach-port 5711 is also the server's port", "choose another attach port")


def test_an_empty_python(project: Path) -> None:
    result = run_cli("--headless", "--port", str(free_port()), "--python", "", cwd=project)
    _refused(result, "--python is empty; give the path of the app's python")


def test_a_python_that_is_not_a_python(project: Path) -> None:
    result = run_cli("--headless", "--port", str(free_port()), "--python", "/bin/false", cwd=project)
    _refused(result, "--python /bin/false is not a Python interpreter; give the path of the app's python")


@pytest.fixture(scope="module")
def python_without_flask(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("no-flask") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    return venv / "bin" / "python"


def test_a_python_without_flask(project: Path, python_without_flask: Path) -> None:
    result = run_cli("--headless", "--port", str(free_port()), "--python", str(python_without_flask), cwd=project)
    _refused(result, "cannot import Flask; install it there", f"{python_without_flask} -m pip install flask")


def test_a_python_without_flask_from_pyproject_names_pyproject(project: Path, python_without_flask: Path) -> None:
    (project / "pyproject.toml").write_text(f'[tool.debugdash]\npython = "{python_without_flask}"\n')
    result = run_cli("--headless", "--port", str(free_port()), cwd=project)
    _refused(result, "pyproject.toml [tool.debugdash] python", "cannot import Flask")


def test_runtime_dir_naming_a_file(project: Path) -> None:
    a_file = project / "not-a-dir"
    a_file.write_text("")
    result = run_cli("--headless", "--port", str(free_port()), cwd=project, env={"DEBUGDASH_RUNTIME_DIR": str(a_file)})
    _refused(result, f"DEBUGDASH_RUNTIME_DIR={a_file} is not a directory; point it at a directory of yours")


def test_runtime_dir_naming_a_missing_path(project: Path) -> None:
    missing = project / "missing" / "deeper"
    result = run_cli("--headless", "--port", str(free_port()), cwd=project, env={"DEBUGDASH_RUNTIME_DIR": str(missing)})
    _refused(result, f"DEBUGDASH_RUNTIME_DIR={missing}: no such directory; create it (mode 0700) or unset the variable")
    assert not missing.parent.exists(), "a typo does not create directories"


@pytest.mark.parametrize(
    "content, fix",
    [
        (b"[tool.debugdash]\ntrusted-hosts = [1, 2]\n", ["pyproject.toml [tool.debugdash] trusted-hosts must be a list of strings, not [1, 2]; fix "]),
        (b"[tool.debugdash]\nallow = [\"10.0.0.1\", 7]\n", ["pyproject.toml [tool.debugdash] allow must be a list of strings"]),
        (b"tool = 5\n", ["pyproject.toml tool must be a table ([tool.debugdash] ...), not 5; fix "]),
        (b"[tool]\ndebugdash = 5\n", ["pyproject.toml [tool.debugdash] must be a table, not 5; fix "]),
        (b"[tool.debugdash]\nport = \"\xff\"\n", ["is not valid UTF-8", "save it as UTF-8"]),
        (b"[tool.debugdash]\nport = \"5000\"\n", ["pyproject.toml [tool.debugdash] port must be an integer, not '5000'"]),
        (b"[tool.debugdash]\nport = 70000\n", ["pyproject.toml [tool.debugdash] port 70000 is out of range; use a number from 1 to 65535"]),
        (b"[tool.debugdash]\nhost = \"nope\"\n", ["pyproject.toml [tool.debugdash] host 'nope' is not an IP address; use 127.0.0.1"]),
        (b"[tool.debugdash]\nttl = \"soon\"\n", ["pyproject.toml [tool.debugdash] ttl: 'soon' is not a duration; write it like 90s, 15m"]),
        (b"[tool.debugdash]\nreload = \"no\"\n", ["pyproject.toml [tool.debugdash] reload must be true or false, not 'no'"]),
    ],
    ids=["trusted-hosts-ints", "allow-int", "tool-5", "debugdash-5", "invalid-utf8", "port-string", "port-range", "host", "ttl", "reload-string"],
)
def test_pyproject_values_name_their_source(project: Path, content: bytes, fix: list[str]) -> None:
    (project / "pyproject.toml").write_bytes(content)
    _refused(run_cli("--headless", cwd=project), *fix)


def test_flask_environment_values_name_their_variable(project: Path) -> None:
    result = run_cli("--headless", cwd=project, env={"FLASK_RUN_PORT": "abc"})
    _refused(result, "FLASK_RUN_PORT must be an integer from 1 to 65535, not 'abc'")


@pytest.mark.parametrize(
    "extra, instead",
    [
        (["--host", "0.0.0.0"], "--host"),
        (["--host=0.0.0.0"], "--host"),
        (["-h", "0.0.0.0"], "--host"),
        (["--port", "5001"], "--port"),
        (["-p5001"], "--port"),
        (["--no-reload"], "--reload/--no-reload"),
        (["--no-debugger"], "--debugger/--no-debugger"),
    ],
)
def test_flask_run_arguments_that_would_override_debugdash_are_refused(project: Path, extra: list[str], instead: str) -> None:
    result = run_cli("--headless", "--port", str(free_port()), "--", *extra, cwd=project)
    _refused(result, f"{extra[0]!r} after -- would bypass debugdash's own setting; use debugdash's {instead} instead")
