"""`.env` and `.flaskenv` are honoured exactly as `flask run` honours them:
by the app's own Flask and python-dotenv, whatever debugdash's environment has."""

from __future__ import annotations

import sys
from pathlib import Path

from debugdash.core import envfiles
from debugdash.core.settings import resolve
from tests.compat.environments import FLASK_LINES, app_python


def test_env_wins_over_flaskenv_and_the_real_environment_over_both(tmp_path: Path) -> None:
    (tmp_path / ".flaskenv").write_text("FLASK_APP=from_flaskenv\nFLASK_RUN_PORT=5101\nONLY_FLASKENV=yes\n")
    (tmp_path / ".env").write_text("FLASK_RUN_PORT=5102\nFLASK_RUN_HOST=127.0.0.5\n")
    values = envfiles.load(sys.executable, tmp_path, {"FLASK_RUN_HOST": "127.0.0.9", "PATH": "/usr/bin"})
    assert values == {"FLASK_APP": "from_flaskenv", "FLASK_RUN_PORT": "5102", "ONLY_FLASKENV": "yes"}

    settings = resolve({}, cwd=tmp_path, environ={"FLASK_RUN_HOST": "127.0.0.9", "PATH": "/usr/bin"})
    assert (settings.app, settings.port, settings.host) == ("from_flaskenv", 5102, "127.0.0.9")


def test_files_in_a_parent_folder_count_and_flask_skip_dotenv_is_obeyed(tmp_path: Path) -> None:
    (tmp_path / ".flaskenv").write_text("FLASK_APP=shop\n")
    inner = tmp_path / "src" / "deeper"
    inner.mkdir(parents=True)
    assert envfiles.load(sys.executable, inner, {"PATH": "/usr/bin"}) == {"FLASK_APP": "shop"}
    assert envfiles.load(sys.executable, inner, {"PATH": "/usr/bin", "FLASK_SKIP_DOTENV": "1"}) == {}


def test_an_app_environment_without_python_dotenv_ignores_them_like_flask_run(tmp_path: Path) -> None:
    [no_dotenv] = [line for line in FLASK_LINES if not line.dotenv]
    (tmp_path / ".flaskenv").write_text("FLASK_APP=shop\n")
    assert envfiles.load(str(app_python(no_dotenv)), tmp_path, {"PATH": "/usr/bin"}) == {}
