"""The variables ``flask run`` would load from ``.env`` and ``.flaskenv``, asked
of the app's own interpreter.

Flask loads them with python-dotenv from the app's environment, searching up
from the working folder, ``.env`` winning over ``.flaskenv`` and both losing to
the real environment. debugdash usually lives elsewhere (pipx), where
python-dotenv may be missing or differ, so the app's Flask is asked to do it
itself: the answer is exactly what ``flask run`` would see, in every Flask.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path

_NAMES = (".env", ".flaskenv")

# Runs in the app's python: Flask's own loader, then what it added or changed.
_ASK_FLASK = """
import json, os
try:
    from flask.cli import load_dotenv
    from flask.helpers import get_load_dotenv
except ImportError:
    print("{}")
else:
    before = dict(os.environ)
    if get_load_dotenv():
        load_dotenv()
    print(json.dumps({k: v for k, v in os.environ.items() if before.get(k) != v}))
"""


def present(cwd: Path) -> bool:
    """True when a .env or .flaskenv file is where Flask would look for one (``cwd`` or above)."""
    return any((folder / name).is_file() for folder in (cwd, *cwd.parents) for name in _NAMES)


def load(python: str, cwd: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The variables the app's Flask loads from dotenv files in ``cwd``; empty when there are none."""
    if not present(cwd):
        return {}  # the common case costs no interpreter start
    try:
        result = subprocess.run(
            [python, "-c", _ASK_FLASK], cwd=cwd, env=dict(environ), capture_output=True,
            text=True, timeout=60, stdin=subprocess.DEVNULL,
        )
        lines = result.stdout.strip().splitlines()
        values = json.loads(lines[-1]) if result.returncode == 0 and lines else {}
    except (OSError, subprocess.SubprocessError, ValueError):
        return {}  # the server's own start reports what is wrong with that interpreter
    return {str(k): str(v) for k, v in values.items()} if isinstance(values, dict) else {}
