"""The IDE stays attached across reloads (issue 14): one DAP client connection,
sending what VS Code sends, through debugdash's relay to the real server while
it reloads, restarts and crashes; real HTTP requests stop at its breakpoints."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from tests.dap import DapClient
from tests.support import Session, close_all, free_port, http, wait_for, write_app

pytestmark = pytest.mark.timeout(180)

APP = """
    from flask import Flask

    app = Flask(__name__)

    @app.route("/answer")
    def answer():
        value = 21 * 2
        return str(value)

    @app.route("/lazy")
    def lazy():
        import helpers

        return str(helpers.total([1, 2, 3]))

    @app.route("/raise")
    def fail():
        try:
            raise KeyError("caught")
        except KeyError:
            return "handled"

    @app.route("/boom")
    def boom():
        return str(1 / 0)
"""
BREAKPOINT_LINE = 9  # `return str(value)`
#: The same module with a new local before the breakpoint, every line number kept.
APP_EDITED = APP.replace("value = 21 * 2", 'value = 21 * 2; fresh = "new code"')

HELPERS = """
    def total(numbers):
        result = sum(numbers)
        return result
"""
HELPERS_LINE = 4  # `return result`


def rewrite(path: Path, source: str) -> None:
    """Replace a watched file so that its mtime differs (see test_session.rewrite)."""
    before = path.stat().st_mtime_ns
    write_app(path.parent, source, name=path.name)
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before, before + 1_000))


@pytest.fixture
def attached(tmp_path: Path):
    """A session with attach on (the reloader too) and one attached client."""
    app = write_app(tmp_path, APP)
    write_app(tmp_path, HELPERS, name="helpers.py")
    assert app.read_text().splitlines()[BREAKPOINT_LINE - 1].strip() == "return str(value)"
    port, attach_port = free_port(), free_port()
    session = Session("--app", "app", "--port", str(port), "--attach", "--attach-port", str(attach_port), cwd=tmp_path)
    sessions, clients = [session], []
    try:
        session.wait_event("ready")
        session.wait_event("notice", lambda e: "debugpy listening" in e["message"], timeout=60)
        dap = DapClient.connect("127.0.0.1", attach_port)
        clients.append(dap)
        dap.initialize()
        yield session, port, app, dap
    finally:
        for client in clients:
            client.close()
        close_all(sessions)


class Request:
    """An HTTP request in a thread: it may stop at a breakpoint."""

    def __init__(self, port: int, path: str) -> None:
        self.result: dict[str, object] = {}
        self._thread = threading.Thread(target=lambda: self.result.update(reply=http(port, path, timeout=90)))
        self._thread.start()

    def reply(self, timeout: float = 60) -> tuple:
        self._thread.join(timeout)
        assert "reply" in self.result, "the request did not complete"
        return self.result["reply"]


def stopped_at(dap: DapClient) -> tuple[int, dict]:
    """Wait for the next stop; its thread and top frame."""
    stopped = dap.wait_event("stopped", timeout=60)
    thread = stopped["body"]["threadId"]
    return thread, dap.top_frame(thread)


def reloaded(session: Session, mark: int) -> None:
    """The next worker serves and its debugger was configured."""
    session.wait_event("reload", since=mark, timeout=60)
    session.wait_event("ready", since=mark, timeout=60)
    session.wait_event("notice", lambda e: "debugpy listening" in e["message"], since=mark, timeout=60)


def test_breakpoints_survive_a_reload_on_the_same_connection(attached) -> None:
    session, port, app, dap = attached
    assert dap.attach(breakpoints={str(app): [BREAKPOINT_LINE]})[str(app)][0]["verified"]
    request = Request(port, "/answer")
    thread, frame = stopped_at(dap)
    assert frame["line"] == BREAKPOINT_LINE
    dap.request("continue", {"threadId": thread})
    assert request.reply()[:2] == (200, "42")
    old_pid = session.named("ready")[-1]["pid"]

    mark = session.mark()
    rewrite(app, APP_EDITED)
    session.wait_event("reload", since=mark, timeout=60)
    # Sent at once: it waits for the next worker, the first request that worker serves.
    # No new initialize or attach: the relay replayed them to the new worker.
    request = Request(port, "/answer")
    thread, frame = stopped_at(dap)
    assert (frame["source"]["path"], frame["line"]) == (str(app), BREAKPOINT_LINE)
    assert dap.evaluate("fresh", frame["id"]) == "'new code'", "the new code, on the same connection"
    dap.request("continue", {"threadId": thread})
    assert request.reply()[:2] == (200, "42")
    assert session.named("ready")[-1]["pid"] != old_pid
    output = dap.wait_event("output", predicate=lambda e: "breakpoints re-applied" in e["body"]["output"])
    assert output["body"]["output"] == "server reloaded \u2014 breakpoints re-applied\n"
    assert any(e["event"] == "thread" and e["body"]["reason"] == "exited" for e in dap.events)
    assert not [e for e in dap.events if e["event"] in ("terminated", "exited")], "VS Code would end the session"
    seqs = [e["seq"] for e in dap.events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "one unbroken sequence"
    assert not any("frozen modules" in line for line in session.log_lines())
    assert "frozen_modules=off" in " ".join(session.named("started")[-1]["command"])


def test_a_save_while_stopped_waits_for_continue_and_for_disconnect(attached) -> None:
    session, port, app, dap = attached
    dap.attach(breakpoints={str(app): [BREAKPOINT_LINE]})
    request = Request(port, "/answer")
    thread, frame = stopped_at(dap)
    pid = session.named("ready")[-1]["pid"]
    paused = session.wait_event("debug_paused", lambda e: e["paused"])
    assert (paused["filename"], paused["line"], paused["function"]) == (str(app), BREAKPOINT_LINE, "answer")

    mark = session.mark()
    rewrite(app, APP_EDITED)
    held = session.wait_event("reload_held", since=mark, timeout=30)
    assert held["filename"] == str(app) and held["pid"] == pid
    status = session.cli("status", "--json")
    assert '"reload_pending"' in status.stdout and str(app) in status.stdout
    # The paused worker is still the one serving, and still answers the IDE.
    assert dap.evaluate("value", frame["id"]) == "42"
    assert not session.named("reload", since=mark) and session.named("ready")[-1]["pid"] == pid

    dap.request("continue", {"threadId": thread})
    assert request.reply()[:2] == (200, "42"), "the paused request completes first"
    reloaded(session, mark)
    assert session.named("ready")[-1]["pid"] != pid
    session.wait_event("debug_paused", lambda e: not e["paused"], since=mark)

    # Stopped in the new code; a save held again; the IDE leaves: the reload happens.
    request = Request(port, "/answer")
    thread, frame = stopped_at(dap)
    assert dap.evaluate("fresh", frame["id"]) == "'new code'"
    pid = session.named("ready")[-1]["pid"]
    mark = session.mark()
    rewrite(app, APP)
    session.wait_event("reload_held", since=mark, timeout=30)
    dap.request("disconnect", {"restart": False, "terminateDebuggee": False})
    assert request.reply()[:2] == (200, "42")
    reloaded(session, mark)
    assert session.named("ready")[-1]["pid"] != pid


def _stops_and_completes(dap: DapClient, port: int, path: str, expect: tuple, **where) -> dict:
    request = Request(port, path)
    stopped = dap.wait_event("stopped", timeout=60)
    thread = stopped["body"]["threadId"]
    frame = dap.top_frame(thread)
    for key, value in where.items():
        assert (stopped["body"] | frame)[key] == value, (key, stopped, frame)
    dap.request("continue", {"threadId": thread})
    assert request.reply()[:2] == expect
    return frame


def test_a_lazily_imported_module_and_an_exception_breakpoint_bind_before_and_after_a_reload(attached) -> None:
    session, port, app, dap = attached
    helpers = app.parent / "helpers.py"
    dap.attach(breakpoints={str(helpers): [HELPERS_LINE]}, exception_filters=["raised"])
    for round in range(2):
        frame = _stops_and_completes(dap, port, "/lazy", (200, "6"), line=HELPERS_LINE)
        assert frame["source"]["path"] == str(helpers) and frame["name"] == "total"
        _stops_and_completes(dap, port, "/raise", (200, "handled"), reason="exception")
        if round == 0:
            mark = session.mark()
            rewrite(app, APP_EDITED)
            reloaded(session, mark)


def test_restart_and_a_crash_and_restart_keep_the_client_attached(attached) -> None:
    session, port, app, dap = attached
    dap.attach(breakpoints={str(app): [BREAKPOINT_LINE]})
    _stops_and_completes(dap, port, "/answer", (200, "42"), line=BREAKPOINT_LINE)

    mark = session.mark()
    assert session.cli("restart").returncode == 0
    session.wait_event("ready", since=mark, timeout=60)
    _stops_and_completes(dap, port, "/answer", (200, "42"), line=BREAKPOINT_LINE)

    mark = session.mark()
    os.kill(session.named("ready")[-1]["pid"], 9)
    session.wait_event("exited", lambda e: not e["expected"], since=mark, timeout=60)
    rewrite(app, APP_EDITED)  # a crashed server starts again on the next save
    session.wait_event("ready", since=mark, timeout=60)
    frame = _stops_and_completes(dap, port, "/answer", (200, "42"), line=BREAKPOINT_LINE)
    assert frame["source"]["path"] == str(app)


def test_switches_still_apply_while_the_ide_holds_the_app_stopped(attached) -> None:
    """pydevd stops every thread when one stops (the server accepts nothing then):
    debugdash's own threads in the server must run on, or a switch, or a revoked
    grant, would wait for continue."""
    session, port, app, dap = attached
    dap.attach(breakpoints={str(app): [BREAKPOINT_LINE]})
    request = Request(port, "/answer")
    thread, _ = stopped_at(dap)
    pid = session.named("ready")[-1]["pid"]
    mark = session.mark()
    assert session.cli("toggle", "debugger", "on").returncode == 0
    # The server's own word that its gate opened, while the IDE still holds it stopped.
    session.wait_event("gate", lambda e: e["debugger"] and e["pid"] == pid, since=mark, timeout=30)
    assert "reply" not in request.result
    dap.request("continue", {"threadId": thread})
    assert request.reply()[:2] == (200, "42")
    assert "Werkzeug Debugger" in http(port, "/boom")[1]


def test_attach_turned_on_after_a_reload_through_the_template_reaches_a_debugger(tmp_path: Path) -> None:
    """Save, then decide to attach: the worker serving then was forked from the
    preloaded template; turning attach on gives a worker in which debugpy runs, and
    a request stops at the IDE's breakpoint."""
    app = write_app(tmp_path, APP)
    port, attach_port = free_port(), free_port()
    session = Session("--app", "app", "--port", str(port), "--attach-port", str(attach_port), cwd=tmp_path)
    try:
        session.wait_event("ready")
        session.wait_event("template", timeout=120)
        mark = session.mark()
        rewrite(app, APP_EDITED)
        session.wait_event("started", lambda e: e.get("via") == "template", since=mark, timeout=60)
        session.wait_event("ready", since=mark)
        turned = session.cli("toggle", "attach", "on")
        assert turned.returncode == 0, turned.stderr
        session.wait_event("notice", lambda e: "debugpy listening" in e["message"], since=mark, timeout=60)
        dap = DapClient.connect("127.0.0.1", attach_port)
        try:
            dap.initialize()
            dap.attach(breakpoints={str(app): [BREAKPOINT_LINE]})
            results: dict[str, tuple[int, str]] = {}
            request = threading.Thread(target=lambda: results.update(answer=http(port, "/answer")))
            request.start()
            stopped = dap.wait_event("stopped", timeout=60)
            dap.request("continue", {"threadId": stopped["body"]["threadId"]})
            request.join(60)
            assert results["answer"][:2] == (200, "42")
            dap.request("disconnect", {"terminateDebuggee": False})
        finally:
            dap.close()
    finally:
        session.close()
