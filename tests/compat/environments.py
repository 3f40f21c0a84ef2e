"""Virtual environments the way users have them, built from the package
registry and cached between runs.

- one environment per supported Flask line, holding only the app's packages;
- debugdash installed on its own, as pipx installs it: a copy of the package
  (not an editable link to this checkout) and only its runtime dependencies, so
  nothing the test extra brings (python-dotenv, pytest) can hide a missing one.

The cache lives in ``$DEBUGDASH_TEST_CACHE`` (default ``~/.cache/debugdash-tests``).
An environment is built in a temporary folder and renamed into place when
complete, so an interrupted or concurrent build never leaves half of one.
When the registry cannot be reached, the tests that need it are skipped with
the reason.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

CACHE = Path(os.environ.get("DEBUGDASH_TEST_CACHE") or Path.home() / ".cache" / "debugdash-tests")


@dataclass(frozen=True)
class FlaskLine:
    """A Flask release line as an app pins it."""

    name: str
    requirements: tuple[str, ...]
    blinker: bool
    dotenv: bool


FLASK_LINES = (
    # Flask 2.2 made blinker optional and so do its apps; python-dotenv left out too.
    FlaskLine("flask-2.2", ("flask==2.2.5", "werkzeug==2.2.3"), blinker=False, dotenv=False),
    FlaskLine("flask-2.3", ("flask==2.3.3", "werkzeug==2.3.8", "python-dotenv"), blinker=True, dotenv=True),
    FlaskLine("flask-3.0", ("flask==3.0.3", "werkzeug==3.0.6", "python-dotenv"), blinker=True, dotenv=True),
    FlaskLine("flask-latest", ("flask", "python-dotenv"), blinker=True, dotenv=True),
)


def _key(*parts: str) -> str:
    digest = hashlib.sha256("\n".join((sys.version, *parts)).encode())
    return digest.hexdigest()[:12]


def _pip(python: Path, *args: str) -> None:
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )
    if result.returncode == 0:
        return
    if any(sign in result.stderr for sign in _OFFLINE):
        last = result.stderr.strip().splitlines()[-1]
        pytest.skip(f"the package registry cannot be reached, so this environment cannot be built: {last}")
    raise AssertionError(f"pip install {' '.join(args)} failed:\n{result.stderr[-3000:]}")


# What pip says when the registry is out of reach (not when a build is broken).
_OFFLINE = ("No matching distribution found", "Failed to establish a new connection",
            "Network is unreachable", "Temporary failure in name resolution", "Could not find a version")


def _build(name: str, key: str, fill: Callable[[Path], None]) -> Path:
    """The environment ``name`` from the cache, built by ``fill(python)`` when missing."""
    home = CACHE / f"{name}-{key}"
    python = home / "bin" / "python"
    CACHE.mkdir(parents=True, exist_ok=True)
    # A venv's scripts name the path it was made at, so it is built in place; the
    # lock keeps two test runs from building it at once, the marker says it is whole.
    with open(CACHE / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (home / ".complete").exists():
            shutil.rmtree(home, ignore_errors=True)
            try:
                subprocess.run([sys.executable, "-m", "venv", str(home)], check=True, timeout=300)
                fill(python)
            except BaseException:
                shutil.rmtree(home, ignore_errors=True)
                raise
            (home / ".complete").write_text(key)
    return python


def app_python(line: FlaskLine) -> Path:
    """The python of an app environment holding ``line``'s packages and nothing of debugdash."""
    return _build(line.name, _key(*line.requirements), lambda python: _pip(python, *line.requirements))


def _source_key() -> str:
    files = sorted(p for p in (REPO_ROOT / "debugdash").rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    digest = hashlib.sha256()
    for path in [REPO_ROOT / "pyproject.toml", *files]:
        digest.update(str(path.relative_to(REPO_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def pipx_debugdash() -> list[str]:
    """The ``debugdash`` command of an environment of its own, installed from this checkout like pipx would."""
    deps_key = _key((REPO_ROOT / "pyproject.toml").read_text())
    python = _build("debugdash-own-env", deps_key, lambda python: _pip(python, str(REPO_ROOT)))
    home = python.parent.parent
    source = _source_key()
    stamp = home / ".source"
    with open(CACHE / "debugdash-own-env.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stamp.exists() or stamp.read_text() != source:
            # Dependencies stay; only debugdash itself is replaced by the checkout's current code.
            _pip(python, "--no-deps", "--force-reinstall", str(REPO_ROOT))
            stamp.write_text(source)
    return [str(home / "bin" / "debugdash")]
