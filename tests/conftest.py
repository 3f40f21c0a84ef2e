"""Every test runs with its own runtime and state directories, and without the
developer's Flask environment, so sessions and audit logs never mix."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import Session


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("env")
    runtime = home / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("DEBUGDASH_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    for name in ("FLASK_APP", "FLASK_DEBUG", "FLASK_RUN_HOST", "FLASK_RUN_PORT", "FLASK_RUN_RELOAD",
                 "FLASK_RUN_DEBUGGER", "FLASK_RUN_FROM_CLI", "WERKZEUG_RUN_MAIN", "WERKZEUG_SERVER_FD",
                 "VIRTUAL_ENV", "SSH_CONNECTION", "PYTHONPATH", "DEBUGDASH_CLOCK_OFFSET_FILE",
                 "DEBUGDASH_TEST_CLOCK_FILE",
                 "PYTHONUNBUFFERED"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def session_factory(tmp_path: Path) -> Iterator[Callable[..., Session]]:
    """Start `debugdash ... --headless` sessions (in ``tmp_path`` unless told); all are closed at the end."""
    started: list[Session] = []

    def start(*args: str, cwd: Path | None = None, **options) -> Session:
        session = Session(*args, cwd=cwd or tmp_path, **options)
        started.append(session)
        return session

    yield start
    for session in started:
        session.close()
