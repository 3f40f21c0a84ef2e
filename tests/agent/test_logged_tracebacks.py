"""The traceback Werkzeug logs for a failing request reads exactly as Werkzeug renders it, cached or not."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import pytest
from werkzeug.debug import tbtools

from debugdash.agent.logged_tracebacks import install
from tests.support import import_source

ORIGINAL = tbtools.DebugTraceback

SOURCE = '''
def fail(n, hide=False):
    __traceback_hide__ = hide
    return _inner(n)


def _inner(n):
    values = {"n": n}
    raise RuntimeError(f"failure {values['n'] % 2}")


def chained(n):
    try:
        {}["missing"]
    except KeyError as e:
        raise ValueError(n) from e
'''


@pytest.fixture
def module(tmp_path: Path):
    path = tmp_path / "failing_app.py"
    yield import_source(path, SOURCE, "failing_app"), path
    sys.modules.pop("failing_app", None)


@pytest.fixture
def caching():
    server = types.SimpleNamespace(DebugTraceback=ORIGINAL)  # as the server imports it; the real module is left alone
    install(server)
    assert server.DebugTraceback is not ORIGINAL
    return server.DebugTraceback


def _raised(fn, *args) -> BaseException:
    try:
        fn(*args)
    except Exception as e:
        return e
    raise AssertionError("did not raise")


def _logged(cls, exc: BaseException) -> str:
    return cls(exc).render_traceback_text()


def test_repeated_failures_log_what_werkzeug_logs(module, caching) -> None:
    mod, _ = module
    for n in range(6):
        for hide in (False, True):
            exc = _raised(mod.fail, n, hide)
            assert _logged(caching, exc) == _logged(ORIGINAL, exc)
    shown = _logged(caching, _raised(mod.fail, 3))
    assert "in _inner" in shown and "RuntimeError: failure 1" in shown and 'raise RuntimeError(f"failure' in shown
    assert "in fail" not in _logged(caching, _raised(mod.fail, 3, True))  # hidden, as Werkzeug hides it


def test_the_same_failure_is_rendered_once(module, caching) -> None:
    mod, _ = module
    texts = [_logged(caching, _raised(mod.fail, 2)) for _ in range(3)]
    assert texts[1] is texts[2]  # the repeat did not render again
    assert _logged(caching, _raised(mod.fail, 3)) is not texts[2]  # another message is another text


def test_an_edited_source_file_shows_its_new_line(module, caching) -> None:
    mod, path = module
    before = [_logged(caching, _raised(mod.fail, 2)) for _ in range(2)][-1]
    path.write_text(SOURCE.replace('raise RuntimeError(f"failure', 'raise RuntimeError(f"fail-ure'))
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 10))  # the code that runs is the old one; its file changed
    for _ in range(3):  # the first look finds the file changed; the later ones must not see the old text again
        exc = _raised(mod.fail, 2)
        after = _logged(caching, exc)
        assert after == _logged(ORIGINAL, exc) and after != before and 'RuntimeError(f"fail-ure' in after


def test_chains_and_the_rest_of_the_api_are_werkzeugs(module, caching) -> None:
    mod, _ = module
    for n in range(3):
        exc = _raised(mod.chained, n)
        assert _logged(caching, exc) == _logged(ORIGINAL, exc)
    assert "direct cause" in _logged(caching, exc)
    traceback = caching(_raised(mod.fail, 1))
    assert isinstance(traceback, ORIGINAL)
    assert "_inner" in traceback.render_traceback_html() and traceback.all_frames


def test_the_same_code_in_two_files_names_its_own_file(tmp_path: Path, caching) -> None:
    modules = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        modules.append(import_source(tmp_path / name / "twin_app.py", SOURCE, f"twin_app_{name}"))
    for _ in range(3):
        for name, mod in zip(("one", "two"), modules):
            exc = _raised(mod.fail, 1)
            text = _logged(caching, exc)
            assert text == _logged(ORIGINAL, exc) and f"/{name}/twin_app.py" in text
