"""The app's interpreter: which one, and whether it can run the server at all.

A wrong ``--python`` is found before anything starts, by one short run of it,
so the user gets one line naming the fix instead of a crashed server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from debugdash.core import prestart
from debugdash.core.errors import UserInputError

#: How long the probe of a foreign interpreter may take (a busy machine, a cold disk).
PROBE_TIMEOUT = 20.0


def default_python(environ: Mapping[str, str]) -> str:
    """The active virtualenv's interpreter, else ours."""
    venv = environ.get("VIRTUAL_ENV")
    if venv:
        candidate = Path(venv) / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        if candidate.exists():
            return str(candidate)
    return sys.executable


def given_python(given: str, source: str, cwd: Path, env: Mapping[str, str]) -> str:
    """The interpreter the user named, checked to be a Python that can import Flask."""
    if not given.strip():
        raise UserInputError(f"{source} is empty; give the path of the app's python, e.g. .venv/bin/python")
    found = shutil.which(given) if os.sep not in given else given
    if not found or not os.access(found, os.X_OK) or os.path.isdir(found):
        raise UserInputError(f"{source} {given}: no such interpreter; give the path of the app's python")
    python = str(Path(found).absolute())
    # Compared unresolved: every virtualenv's python links to the same base
    # binary, yet each sees its own packages.
    if os.path.abspath(python) != os.path.abspath(sys.executable):
        _probe(python, given, source, cwd, env)
    return python


#: What the probe runs: it answers "python", then "flask" when it can find Flask.
# Finding Flask, not importing it: an import costs as much as the server's own
# (0.1-0.2 s, start-up's critical path); a Flask that is there but broken is
# the server's load error to report.
_PROBE = "import importlib.util; print('python', flush=True); importlib.util.find_spec('flask') and print('flask')"


def _end(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.communicate()


def _probe(python: str, given: str, source: str, cwd: Path, env: Mapping[str, str]) -> None:
    """Run ``python`` once to see that it is a Python with Flask, before anything starts."""
    timed_out = UserInputError(f"{source} {given} did not answer within {PROBE_TIMEOUT:g} s; give the path of the app's python")
    try:
        # The server's interpreter, started early by the command's first lines, answers as this run would.
        stdout = prestart.check_answer(python, str(cwd), dict(env), PROBE_TIMEOUT)
    except TimeoutError:
        raise timed_out from None
    proc = None
    try:
        if stdout is None:
            proc = subprocess.Popen(
                [python, "-c", _PROBE], cwd=str(cwd), env=dict(env), stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
            )
            stdout, _ = proc.communicate(timeout=PROBE_TIMEOUT)
    except subprocess.TimeoutExpired:
        _end(proc)
        raise timed_out from None
    except OSError as e:
        raise UserInputError(f"{source} {given} cannot be run ({e.strerror}); give the path of the app's python") from None
    said = stdout.split()
    if "python" not in said:
        raise UserInputError(f"{source} {given} is not a Python interpreter; give the path of the app's python, e.g. .venv/bin/python")
    if "flask" not in said:
        raise UserInputError(f"{source} {given} cannot import Flask; install it there ({given} -m pip install flask) or give the app's python")
