"""Werkzeug's debugger page reads the same with the library question answered once per file."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.debug import DebuggedApplication, tbtools
from werkzeug.test import Client

from debugdash.agent import debugger_page

SOURCE = '''
def fail(n):
    values = {"n": n}
    raise RuntimeError(f"failure {values['n']}")
'''


@pytest.fixture
def werkzeugs_own(monkeypatch):
    """Werkzeug's ``is_library`` now, and back as it was after the test (install changes the class)."""
    original = tbtools.DebugFrameSummary.__dict__["is_library"]
    monkeypatch.setattr(tbtools.DebugFrameSummary, "is_library", original)
    return original


@pytest.fixture
def debugged(tmp_path: Path):
    """A Flask app failing in a file of its own, under Werkzeug's debugger (app and library frames)."""
    path = tmp_path / "failing_views.py"
    path.write_text(SOURCE)
    spec = importlib.util.spec_from_file_location("failing_views", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    app = Flask("failing_views")
    app.debug = True
    app.add_url_rule("/boom/<int:n>", "boom", module.fail)
    debugger = DebuggedApplication(app, evalex=True, pin_security=True, pin_logging=False)
    debugger.pin = "123-456-789"
    yield Client(debugger)
    sys.modules.pop("failing_views", None)


def _page(client: Client, n: int) -> str:
    response = client.get(f"/boom/{n}")
    assert response.status_code == 500
    # Each frame's id is the address of its summary object: the one thing that differs between renders.
    return re.sub(r"frame-\d+", "frame-N", response.get_data(as_text=True))


def test_the_page_is_werkzeugs_own_byte_for_byte(debugged: Client, werkzeugs_own) -> None:
    before = [_page(debugged, n) for n in (1, 2, 1)]
    debugger_page.install()
    assert tbtools.DebugFrameSummary.__dict__["is_library"] is not werkzeugs_own
    after = [_page(debugged, n) for n in (1, 2, 1)]
    assert after == before
    page = after[0]
    # Flask's frames are marked as library code and the app's own frame is not: the
    # answer matters on this page (it is not all one or the other).
    sources = re.findall(r'<cite class="filename">"([^"]*)"</cite>.*?<div class="source ([a-z]*)">', page, re.S)
    assert {library for filename, library in sources if filename.endswith("flask/app.py")} == {"library"}
    assert [library for filename, library in sources if filename.endswith("failing_views.py")] == [""]
    assert "RuntimeError: failure 2" in after[1]


def test_each_file_gets_werkzeugs_answer(tmp_path: Path, werkzeugs_own) -> None:
    # A path through a symlink to the standard library is library code, as Werkzeug says.
    stdlib = Path(os.__file__).parent
    link = tmp_path / "linked"
    link.symlink_to(stdlib)
    files = [os.__file__, tbtools.__file__, __file__, str(link / "os.py"), "<string>", str(tmp_path / "app.py")]

    class Summary:
        def __init__(self, filename: str) -> None:
            self.filename = filename

    werkzeug = [werkzeugs_own.fget(Summary(f)) for f in files]
    assert [debugger_page.is_library_file(f) for f in files] == werkzeug
    assert werkzeug[:2] == [True, True] and werkzeug[-1] is False


def test_install_twice_is_once(werkzeugs_own) -> None:
    debugger_page.install()
    first = tbtools.DebugFrameSummary.__dict__["is_library"]
    debugger_page.install()
    assert tbtools.DebugFrameSummary.__dict__["is_library"] is first
