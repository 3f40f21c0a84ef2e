"""Werkzeug's debugger page reads the same with the library question answered once per file."""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path

import pytest
import werkzeug.debug
from flask import Flask
from werkzeug.debug import DebuggedApplication, tbtools
from werkzeug.test import Client

from debugdash.agent import debugger_page
from tests.support import import_source

SOURCE = '''
def fail(n):
    values = {"n": n}
    raise RuntimeError(f"failure {values['n']}")
'''


@pytest.fixture
def werkzeugs_own(monkeypatch):
    """Werkzeug's ``is_library`` now, and both it and the debugger's DebugTraceback back as they
    were after the test (install changes them)."""
    original = tbtools.DebugFrameSummary.__dict__["is_library"]
    monkeypatch.setattr(tbtools.DebugFrameSummary, "is_library", original)
    monkeypatch.setattr(werkzeug.debug, "DebugTraceback", werkzeug.debug.DebugTraceback)
    return original


@pytest.fixture
def debugged(tmp_path: Path):
    """A Flask app failing in a file of its own, under Werkzeug's debugger (app and library frames)."""
    module = import_source(tmp_path / "failing_views.py", SOURCE, "failing_views")
    app = Flask("failing_views")
    app.debug = True
    app.add_url_rule("/boom/<int:n>", "boom", module.fail)
    debugger = DebuggedApplication(app, evalex=True, pin_security=True, pin_logging=False)
    debugger.pin = "123-456-789"
    yield Client(debugger)
    sys.modules.pop("failing_views", None)


def _page(client: Client, n: int) -> str:
    """The page, then the traceback the debugger logs for the failure."""
    logged = io.StringIO()
    response = client.get(f"/boom/{n}", errors_stream=logged)
    assert response.status_code == 500
    # Each frame's id is the address of its summary object: the one thing that differs between renders.
    return re.sub(r"frame-\d+", "frame-N", response.get_data(as_text=True)) + logged.getvalue()


def test_the_page_is_werkzeugs_own_byte_for_byte(debugged: Client, werkzeugs_own) -> None:
    before = [_page(debugged, n) for n in (1, 2, 1, 1)]
    debugger_page.install()
    assert tbtools.DebugFrameSummary.__dict__["is_library"] is not werkzeugs_own
    assert werkzeug.debug.DebugTraceback is not tbtools.DebugTraceback
    after = [_page(debugged, n) for n in (1, 2, 1, 1)]
    assert after == before
    page = after[0]
    # Flask's frames are marked as library code and the app's own frame is not: the
    # answer matters on this page (it is not all one or the other).
    sources = re.findall(r'<cite class="filename">"([^"]*)"</cite>.*?<div class="source ([a-z]*)">', page, re.S)
    assert {library for filename, library in sources if filename.endswith("flask/app.py")} == {"library"}
    assert [library for filename, library in sources if filename.endswith("failing_views.py")] == [""]
    assert "RuntimeError: failure 2" in after[1]
    assert after[0].endswith("RuntimeError: failure 1\n")  # the logged text, shared by the repeats


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


CHANGING = """
def fail(n):
    values = {"n": n}
    raise RuntimeError(f"failure {values['n']}")  # first edition
"""


def _raised(fn, *args) -> BaseException:
    try:
        fn(*args)
    except Exception as e:
        return e
    raise AssertionError("it did not fail")


def _texts(cls: type, exc: BaseException) -> tuple[str, str]:
    tb = cls(exc, skip=0)
    html = re.sub(r"frame-\d+", "frame-N", tb.render_debugger_html(evalex=True, secret="s", evalex_trusted=True))
    return html, tb.render_traceback_text()


def test_the_text_follows_an_edited_file_and_a_chain_as_werkzeug_renders_it(tmp_path: Path, werkzeugs_own) -> None:
    path = tmp_path / "edited_views.py"
    module = import_source(path, CHANGING, "edited_views")
    werkzeugs = werkzeug.debug.DebugTraceback
    debugger_page.install()
    sharing = werkzeug.debug.DebugTraceback
    assert sharing is not werkzeugs

    first = _raised(module.fail, 1)
    assert _texts(sharing, first) == _texts(werkzeugs, first)
    assert "# first edition" in _texts(sharing, _raised(module.fail, 1))[1]

    # The file changes under the running code (an editor saving, the reloader not yet done).
    path.write_text(CHANGING.replace("first edition", "second edition, longer"))
    os.utime(path, (1, 1))
    again = _raised(module.fail, 1)
    assert "# second edition, longer" in _texts(sharing, again)[1]
    assert _texts(sharing, again) == _texts(werkzeugs, again)

    def chained():
        try:
            module.fail(3)
        except RuntimeError as e:
            raise KeyError("zone") from e

    link = _raised(chained)
    assert _texts(sharing, link) == _texts(werkzeugs, link)
    assert "direct cause" in _texts(sharing, link)[1]
    sys.modules.pop("edited_views", None)


def _growth_per_failure(app, count: int = 40) -> tuple[float, int]:
    """Bytes still allocated per failure after ``count`` failures (the debugger keeps each one's
    frames for its console, as it should), and the size of a page.

    Called as a server calls it (werkzeug.test's client keeps each body in its start_response)."""
    import gc
    import tracemalloc

    from werkzeug.test import EnvironBuilder

    def fail(n: int) -> int:
        environ = EnvironBuilder(path=f"/boom/{n}", errors_stream=io.StringIO()).get_environ()
        return len(b"".join(app(environ, lambda status, headers, exc_info=None: None)))

    page = fail(0)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(count):
            fail(n)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return (after - before) / count, page


def test_a_failure_keeps_its_frames_for_the_console_but_not_its_page(debugged: Client, werkzeugs_own) -> None:
    # Werkzeug's own: a kept frame keeps its callers (f_back), the debugger's frame among
    # them, whose locals are the page and the response: twice the page, per failure, for good.
    werkzeugs_growth, page = _growth_per_failure(debugged.application)
    assert werkzeugs_growth > 2 * page
    from debugdash.agent.debugged import debugger_class

    werkzeugs = debugged.application
    ours = debugger_class()(werkzeugs.app, evalex=True, pin_security=True, pin_logging=False)
    ours.pin = werkzeugs.pin
    client = Client(ours)
    grown, page = _growth_per_failure(ours)
    # What stays is what the console needs (frames, their locals, the request's contexts).
    assert werkzeugs_growth - grown > 1.5 * page

    # The console of the newest failure still evaluates in its frame, with its locals.
    body = client.get("/boom/7").get_data(as_text=True)
    secret = re.search(r'SECRET = "([^"]+)"', body).group(1)
    frame = re.findall(r'<div class="frame" id="frame-(\d+)">', body)[-1]
    auth = client.get(f"/?__debugger__=yes&cmd=pinauth&pin={ours.pin}&s={secret}")
    assert '"auth": true' in auth.get_data(as_text=True)
    answer = client.get(f"/?__debugger__=yes&cmd=values%5B%22n%22%5D*6&frm={frame}&s={secret}")
    assert "42" in answer.get_data(as_text=True)
