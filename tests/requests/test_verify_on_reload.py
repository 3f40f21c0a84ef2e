"""Verify on reload, and `debugdash replay` as a fix's check (issue 12, point 3).

A GET route raises; the test fixes the file and makes no request of its own:
after the reload the group is verified ``fixed`` by debugdash's replay. A group
still broken is verified ``still failing``. A POST that failed is never
replayed without confirmation. `debugdash replay ID` exits 1 before the fix
and 0 after it.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

from tests.requests.reqkit import record_for, send, start

BROKEN = """
    from flask import Flask

    app = Flask(__name__)

    @app.route("/calc")
    def calc():
        return str(10 / 0)

    @app.route("/other")
    def other():
        return {"a": 1}["b"]

    @app.route("/save", methods=["POST"])
    def save():
        raise RuntimeError("saving is broken")
"""

FIXED = BROKEN.replace("str(10 / 0)", "str(10 / 2)")


def _rewrite(path: Path, source: str) -> None:
    path.write_text(textwrap.dedent(source))
    info = path.stat()
    # A whole second later than before, so the reloader's stat sees a change on any filesystem.
    os.utime(path, (info.st_atime + 2, info.st_mtime + 2))


def test_a_fixed_get_route_is_verified_after_the_reload_without_a_request(session_factory, tmp_path: Path) -> None:
    session, port = start(session_factory, tmp_path, "--reload", app=BROKEN)
    assert session.named("verify_on_reload")[-1]["on"] is True

    assert send(port, "/calc")[0] == 500
    assert send(port, "/other")[0] == 500
    assert send(port, "/save", method="POST", body=b"x=1")[0] == 500
    calc = record_for(session, "/calc")
    record_for(session, "/save")
    record_for(session, "/other")

    before = session.cli("replay", str(calc["id"]))
    assert before.returncode == 1, before.stdout + before.stderr
    assert before.stdout.startswith("HTTP 500")
    post = record_for(session, "/save")
    refused = session.cli("replay", str(post["id"]))
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert refused.stderr.count("\n") == 1

    mark = session.mark()
    _rewrite(tmp_path / "app.py", FIXED)

    fixed = session.wait_event("verified", lambda e: e["error_type"] == "ZeroDivisionError", since=mark, timeout=60)
    failing = session.wait_event("verified", lambda e: e["error_type"] == "KeyError", since=mark, timeout=60)
    assert fixed["fixed"] is True and fixed["status"] == 200
    assert failing["fixed"] is False and failing["status"] == 500
    # Every request after the fix came from debugdash itself, and none was the POST.
    after = session.named("request", mark)
    assert after and all(r["replay"] for r in after), after
    assert all(r["method"] == "GET" for r in after)
    assert not [v for v in session.named("verified", mark) if v["error_type"] == "RuntimeError"]

    status = session.cli("status", "--json")
    assert '"fixed": 1' in status.stdout and '"open": 2' in status.stdout, status.stdout

    again = session.cli("replay", str(calc["id"]))
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.startswith("HTTP 200")


def test_verify_on_reload_off_in_pyproject_replays_nothing(session_factory, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.debugdash]\nverify-on-reload = false\n")
    session, port = start(session_factory, tmp_path, "--reload", app=BROKEN)
    assert session.named("verify_on_reload")[-1]["on"] is False

    assert send(port, "/calc")[0] == 500
    record_for(session, "/calc")
    mark = session.mark()
    _rewrite(tmp_path / "app.py", FIXED)
    ready = session.wait_event("ready", since=mark, timeout=60)
    # Proof the session went on after the reload: a request of ours is recorded, and no replay before it.
    assert send(port, "/calc")[0] == 200
    record_for(session, "/calc", since=mark, status=200)
    assert ready and not session.named("verified", mark)
    assert not [r for r in session.named("request", mark) if r["replay"]]
