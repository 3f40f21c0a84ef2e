"""Terminal injection: strings from the network and from the app never reach a
face (headless text in a real terminal, --json, the audit log, the dashboard's
clipboard copy) as live escape sequences, control characters or bidi controls.

The attack is the one that worked: an ungranted peer asks for the debugger with
an OSC 52 (write the clipboard) and an OSC 2 (set the title) in its path, and an
app raises an exception whose message (and source line) carry the same.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from debugdash.core.settings import Settings
from debugdash.tui.widgets.traceback import TracebackView
from tests.support import free_port, http, wait_for
from tests.tui.conftest import arequest, running_dashboard, until

#: What the attacker's terminal sequences would do: put PWNED on the clipboard, retitle the terminal.
CLIPBOARD = "\x1b]52;c;UFdORUQ=\x07"
TITLE = "\x1b]2;PWNED\x07"
ATTACK_PATH = "/%1b]52;c;UFdORUQ=%07%1b]2;PWNED%07?__debugger__=yes"
#: Raw characters that must never leave debugdash (nor, escaped, be in a JSON string).
RAW = ("\x1b", "\x07", "\u202e", "\x9b")

HOSTILE_APP = (
    "from flask import Flask\n"
    "\n"
    "app = Flask(__name__)\n"
    "\n"
    "@app.route('/')\n"
    "def index():\n"
    "    return 'hello'\n"
    "\n"
    "@app.route('/evil')\n"
    "def evil():\n"
    f"    raise RuntimeError('boom' + {CLIPBOARD + TITLE!r} + '\\u202egnp.exe' + '\\x9b2J\\nsecond line')"
    "  # \u202e trojan source\n"
)


def _write_hostile_app(directory: Path) -> None:
    (directory / "app.py").write_text(HOSTILE_APP, encoding="utf-8")


def _assert_clean(text: str) -> None:
    for char in RAW:
        assert char not in text, f"raw {char!r} in {text[:300]!r}"


# --- the headless text mode in a real terminal -----------------------------------


class _Tmux:
    def __init__(self, socket: Path) -> None:
        self.socket = socket

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-S", str(self.socket), *args], capture_output=True, text=True, check=check, timeout=10)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "dash", check=False).stdout


@pytest.fixture
def tmux(tmp_path_factory: pytest.TempPathFactory):
    # A short directory: a socket path must fit in about 100 bytes.
    session = _Tmux(tmp_path_factory.mktemp("tmux") / "s")
    yield session
    session.run("kill-server", check=False)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_a_refused_request_cannot_set_the_title_or_the_clipboard_of_the_terminal(tmp_path: Path, tmux: _Tmux) -> None:
    _write_hostile_app(tmp_path)
    port = free_port()
    command = [sys.executable, "-m", "debugdash", "--app", "app", "--port", str(port), "--no-reload", "--headless"]
    shell = " ".join(["env", "-u", "COLUMNS", "-u", "LINES", "TERM=xterm-256color", *command])
    tmux.run("-f", "/dev/null", "new-session", "-d", "-s", "dash", "-x", "200", "-y", "50", "-c", str(tmp_path), shell)
    # The terminal honours OSC 52 and titles, as a developer's terminal would.
    tmux.run("set", "-g", "set-clipboard", "on")
    tmux.run("select-pane", "-t", "dash", "-T", "before")
    wait_for(lambda: "ready" in tmux.screen(), timeout=30, what="the server to be ready")

    assert http(port, ATTACK_PATH, source="127.0.0.2")[0] == 404
    assert http(port, "/evil", source="127.0.0.2")[0] == 500
    wait_for(lambda: "refused" in tmux.screen() and "RuntimeError" in tmux.screen(), timeout=30, what="both shown")

    assert tmux.run("display", "-p", "-t", "dash", "#{pane_title}").stdout.strip() == "before"
    assert tmux.run("list-buffers").stdout == "", "the attacker wrote the clipboard"
    screen = tmux.screen()
    # The developer sees that something was there.
    assert "␛]52;c;UFdORUQ=␇" in screen and "␛]2;PWNED␇" in screen
    # A message of several lines cannot forge a record: its next line is indented.
    second = next(line for line in screen.splitlines() if "second line" in line)
    assert second.startswith(" ")


# --- --json, the audit log ---------------------------------------------------------




def test_json_output_and_audit_log_carry_no_escapes_from_the_network_or_the_app(tmp_path: Path, session_factory) -> None:
    _write_hostile_app(tmp_path)
    port = free_port()
    session = session_factory("--app", "app", "--port", str(port), "--no-reload", cwd=tmp_path)
    session.wait_event("ready")

    assert http(port, ATTACK_PATH, source="127.0.0.2")[0] == 404
    assert http(port, "/evil")[0] == 500
    refused = session.wait_event("access_refused")
    error = session.wait_event("request_error")

    assert refused["detail"] == "/␛]52;c;UFdORUQ=␇␛]2;PWNED␇"
    exception = error["chain"][-1]
    assert exception["message"].startswith("boom␛]52;c;UFdORUQ=␇␛]2;PWNED␇<U+202E>gnp.exe<U+009B>2J")
    assert exception["message"].endswith("\nsecond line"), "a traceback message keeps its lines"
    assert "<U+202E> trojan source" in exception["frames"][-1]["source"]
    for line in session.stdout_lines:
        _assert_clean(line)
        # What a script reading the JSON gets: "\u001b" in a JSON string is an ESC again.
        _assert_clean(json.dumps(json.loads(line), ensure_ascii=False))

    audit = Path(session.env["XDG_STATE_HOME"]) / "debugdash" / "audit.log"
    content = wait_for(lambda: audit.exists() and audit.read_text(encoding="utf-8"), what="the audit log")
    _assert_clean(content)
    assert "␛]52;c;UFdORUQ=␇" in content


# --- the dashboard's copy ----------------------------------------------------------


async def test_c_copies_the_traceback_without_escapes(tmp_path: Path) -> None:
    _write_hostile_app(tmp_path)
    settings = Settings.for_tests(app="app", port=free_port(), attach_port=free_port(), cwd=tmp_path, python=sys.executable)
    async with running_dashboard(settings) as (app, pilot, _sup):
        await arequest(settings.port, "/evil")
        await until(pilot, lambda: app.query_one(TracebackView).has_traceback, what="the traceback")
        await pilot.press("c")
        copied = app.clipboard
        assert "RuntimeError: boom␛]52;c;UFdORUQ=␇" in copied
        _assert_clean(copied)
