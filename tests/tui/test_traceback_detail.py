"""A traceback on screen and in the clipboard reads like the best renderers:
the whole statement with the failing part marked, library paths as they are
imported, notes and the members of an exception group — from a real server."""

from __future__ import annotations

import textwrap

import pytest

from debugdash.core.settings import Settings
from debugdash.tui.widgets.traceback import TracebackView
from tests.support import free_port
from tests.tui.conftest import arequest, running_dashboard, traceback_lines, until

APP = '''
    from flask import Flask

    app = Flask(__name__)

    @app.route("/total")
    def total():
        order = {"total": 40}
        return str(
            order["total"]
            + order["tax"]
        )

    @app.route("/group")
    def group():
        error = ExceptionGroup("two checks failed", [ValueError("bad size"), KeyError("colour")])
        error.add_note("while validating order 17")
        raise error
'''


@pytest.fixture
def shop(tmp_path) -> Settings:
    (tmp_path / "shop.py").write_text(textwrap.dedent(APP))
    return Settings.for_tests(app="shop", port=free_port(), cwd=tmp_path, reload=False)


async def test_a_statement_over_lines_shows_whole_with_its_failing_part(shop):
    async with running_dashboard(shop) as (app, pilot, _sup):
        await arequest(shop.port, "/total")
        await until(pilot, lambda: traceback_lines(app)[-1:] == ["KeyError: 'tax'"])
        lines = traceback_lines(app)
        raised = next(line for line in lines if line.startswith("shop.py:"))
        assert raised.splitlines()[1:] == [
            "    return str(",
            '        order["total"]',
            '        + order["tax"]',
            "    )",
        ]
        # Library frames are named by their import path, package included.
        assert any(line.startswith("flask/app.py:") for line in lines), lines

        copied = app.query_one(TracebackView).plain_text()
        assert '        + order["tax"]\n          ^^^^^^^^^^^^\n' in copied


async def test_notes_and_the_members_of_an_exception_group_are_shown(shop):
    async with running_dashboard(shop) as (app, pilot, _sup):
        await arequest(shop.port, "/group")
        await until(pilot, lambda: any(line.startswith("ExceptionGroup") for line in traceback_lines(app)))
        lines = traceback_lines(app)
        group = next(line for line in lines if line.startswith("ExceptionGroup"))
        assert group.splitlines() == ["ExceptionGroup: two checks failed (2 sub-exceptions)", "while validating order 17"]
        assert "── 1 of 2 in the group ──" in lines and "ValueError: bad size" in lines
        assert "── 2 of 2 in the group ──" in lines and "KeyError: 'colour'" in lines
