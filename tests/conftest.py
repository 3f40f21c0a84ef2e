"""Every test runs with its own runtime and state directories, and without the
developer's Flask environment, so sessions and audit logs never mix."""

from __future__ import annotations

import pytest


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
