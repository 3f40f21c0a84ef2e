"""What the README promises and nothing else checked: the defaults, ::1 as this
machine, Flask's environment and dotenv files, the [tool.debugdash] example and
its precedence, `toggle debug`, several sessions picked with --port, and the
15-minute default grant. Each test looks where a user would: the ready event,
`debugdash status`, HTTP answers."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.support import SIMPLE_APP, Session, debugger_page, free_port, http, wait_for, write_app

DEFAULT_PORT = 5000
DEFAULT_ATTACH_PORT = 5678




def status_json(session: Session, *args: str) -> Any:
    result = session.cli("status", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def shows_debugger(body: str) -> bool:
    return "Werkzeug Debugger" in body and debugger_page(body) is not None


# --- out of the box -----------------------------------------------------------


def test_out_of_the_box_debug_debugger_and_reloader_on_attach_off_on_127_0_0_1(tmp_path: Path, session_factory) -> None:
    write_app(tmp_path, SIMPLE_APP)
    port = free_port()
    session = session_factory("--app", "app", "--port", str(port))
    ready = session.wait_event("ready")
    assert ready["url"] == f"http://127.0.0.1:{port}"
    assert (ready["debug"], ready["debugger"], ready["reloader"]) == (True, True, True)

    status = status_json(session)
    assert status["host"] == "127.0.0.1"
    assert status["toggles"] == {"debug": True, "debugger": True, "reloader": True, "attach": False}
    assert status["attach"] is None
    assert status["settings"]["attach_port"] == DEFAULT_ATTACH_PORT
    shown = session.cli("status").stdout
    assert "debug on  debugger on  reloader on  attach off" in shown

    # The debugger is on for this machine only.
    status_code, body, _ = http(port, "/boom")
    assert status_code == 500 and shows_debugger(body)
    status_code, body, _ = http(port, "/boom", source="127.0.0.2")
    assert status_code == 500 and "Werkzeug Debugger" not in body


def test_attach_listens_on_port_5678_when_turned_on(tmp_path: Path, session_factory) -> None:
    write_app(tmp_path, SIMPLE_APP)
    session = session_factory("--app", "app", "--port", str(free_port()), "--no-reload")
    session.wait_event("ready")
    result = session.cli("toggle", "attach", "on")
    if result.returncode == 2:
        # Taken on this machine (another session, another suite): the refusal
        # names the port it tried, which is the default.
        assert f"attach port {DEFAULT_ATTACH_PORT} is already in use" in result.stderr
        return
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "attach on"
    session.wait_event("attach_listening")
    assert status_json(session)["attach"]["port"] == DEFAULT_ATTACH_PORT
    with socket.create_connection(("127.0.0.1", DEFAULT_ATTACH_PORT), timeout=15):
        pass
    assert session.cli("toggle", "attach", "off").returncode == 0


def test_the_default_port_is_5000(tmp_path: Path, session_factory) -> None:
    write_app(tmp_path, SIMPLE_APP)
    session = session_factory("--app", "app", "--no-reload")
    wait_for(lambda: session.named("ready") or session.proc.poll() is not None, timeout=30, what="ready or refused")
    if session.proc.poll() is not None:
        # Taken on this machine: the refusal names the port it tried, which is the default.
        assert session.proc.returncode == 2
        assert f"port {DEFAULT_PORT} is in use" in session.stderr.decode()
        return
    assert session.named("ready")[0]["url"] == f"http://127.0.0.1:{DEFAULT_PORT}"
    assert http(DEFAULT_PORT, "/")[:2] == (200, "hello")


# --- ::1 is this machine --------------------------------------------------------


def _free_ipv6_port() -> int | None:
    """A free port on ::1, or None when this machine has no IPv6 loopback."""
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
            return int(s.getsockname()[1])
    except OSError:
        return None


def test_ipv6_loopback_is_local_end_to_end(tmp_path: Path, session_factory) -> None:
    port = _free_ipv6_port()
    if port is None:
        pytest.skip("this machine has no IPv6 loopback (::1)")
    write_app(tmp_path, SIMPLE_APP)
    session = session_factory("--app", "app", "--host", "::1", "--port", str(port))
    ready = session.wait_event("ready")
    assert ready["url"] == f"http://[::1]:{port}"
    assert status_json(session)["url"] == f"http://[::1]:{port}"

    status_code, body, _ = http(port, "/boom", host="::1", source="::1")
    assert status_code == 500
    page = debugger_page(body)
    assert page is not None, "the debugger answers ::1 like 127.0.0.1, without a grant"
    secret, frame = page
    # The console, too: the PIN unlocks it and code runs in the frame.
    status_code, body, headers = http(
        port, f"/?__debugger__=yes&cmd=pinauth&pin={session.pin()}&s={secret}", host="::1", source="::1"
    )
    assert status_code == 200 and '"auth": true' in body
    cookie = headers["set-cookie"].split(";", 1)[0]
    status_code, body, _ = http(
        port, f"/?__debugger__=yes&cmd=6*7&frm={frame}&s={secret}", host="::1", source="::1", headers={"Cookie": cookie}
    )
    assert status_code == 200 and "42" in body


# --- Flask's environment, dotenv files, pyproject, the command line -------------


def test_flask_environment_variables_are_honoured(tmp_path: Path, session_factory) -> None:
    write_app(tmp_path, SIMPLE_APP, name="storefront.py")
    port = free_port("127.0.0.2")
    env = {"FLASK_APP": "storefront", "FLASK_RUN_HOST": "127.0.0.2", "FLASK_RUN_PORT": str(port), "FLASK_DEBUG": "0"}
    session = session_factory(env=env)
    ready = session.wait_event("ready")
    assert ready["url"] == f"http://127.0.0.2:{port}"
    # Out of debug mode, as with `flask run`, there is no debugger either.
    assert (ready["debug"], ready["debugger"]) == (False, False)
    assert http(port, "/", host="127.0.0.2", source="127.0.0.2")[:2] == (200, "hello")
    assert http(port, "/console", host="127.0.0.2", source="127.0.0.1")[0] == 404  # even for this machine
    assert status_json(session)["toggles"]["debug"] is False


def test_env_wins_over_flaskenv_and_the_environment_over_both(tmp_path: Path, session_factory) -> None:
    # Flask's rule: the environment, then .env, then .flaskenv (python-dotenv is a test dependency).
    write_app(tmp_path, SIMPLE_APP, name="storefront.py")
    flaskenv_port, env_port, environ_port = free_port(), free_port(), free_port()
    (tmp_path / ".flaskenv").write_text(f"FLASK_APP=storefront\nFLASK_RUN_PORT={flaskenv_port}\n")
    (tmp_path / ".env").write_text(f"FLASK_RUN_PORT={env_port}\n")
    first = session_factory("--no-reload")
    assert first.wait_event("ready")["port"] == env_port
    assert http(env_port, "/")[:2] == (200, "hello")
    first.close()

    second = session_factory("--no-reload", env={"FLASK_RUN_PORT": str(environ_port)})
    assert second.wait_event("ready")["port"] == environ_port


README_PYPROJECT = """\
[tool.debugdash]
app = "shop:create_app()"
port = {port}
ttl = "30m"
trusted-hosts = ["staging.example.com"]
"""

SHOP = """
    from flask import Flask

    def create_app():
        app = Flask(__name__)

        @app.route("/")
        def index():
            return "shop"

        @app.route("/boom")
        def boom():
            return str(1 / 0)

        return app
"""


def test_the_readme_pyproject_example_is_honoured(tmp_path: Path, session_factory) -> None:
    write_app(tmp_path, SHOP, name="shop.py")
    port = free_port()
    (tmp_path / "pyproject.toml").write_text(README_PYPROJECT.format(port=port))
    session = session_factory("--no-reload")
    ready = session.wait_event("ready")
    assert ready["port"] == port
    assert http(port, "/")[:2] == (200, "shop")

    # ttl: a grant without --for lasts 30 minutes.
    result = session.cli("allow", "127.0.0.2")
    assert result.returncode == 0, result.stderr
    assert "for 30m00s" in result.stdout
    (grant,) = status_json(session)["grants"]
    assert 29 * 60 < grant["seconds_left"] <= 30 * 60

    # trusted-hosts: the debugger's console works under that Host name, and not under another.
    def evalex(host: str) -> str:
        status_code, body, _ = http(port, "/boom", headers={"Host": f"{host}:{port}"})
        assert status_code == 500 and debugger_page(body) is not None
        return "EVALEX = true" if "EVALEX = true" in body else "EVALEX = false"

    assert evalex("staging.example.com") == "EVALEX = true"
    assert evalex("elsewhere.example.com") == "EVALEX = false"


def test_the_command_line_wins_over_pyproject_and_pyproject_over_the_environment(tmp_path: Path, session_factory) -> None:
    write_app(tmp_path, SHOP, name="shop.py")
    write_app(tmp_path, SIMPLE_APP, name="other.py")
    pyproject_port, cli_port, env_port = free_port(), free_port(), free_port()
    (tmp_path / "pyproject.toml").write_text(README_PYPROJECT.format(port=pyproject_port))
    env = {"FLASK_APP": "other", "FLASK_RUN_PORT": str(env_port)}

    from_pyproject = session_factory("--no-reload", env=env)
    assert from_pyproject.wait_event("ready")["port"] == pyproject_port
    assert http(pyproject_port, "/")[:2] == (200, "shop")
    from_pyproject.close()

    from_cli = session_factory("--app", "other", "--port", str(cli_port), "--no-reload", env=env)
    assert from_cli.wait_event("ready")["port"] == cli_port
    assert http(cli_port, "/")[:2] == (200, "hello")


# --- toggles and grants from another terminal -----------------------------------


def test_toggle_debug_restarts_without_the_debugger_and_back(tmp_path: Path, session_factory) -> None:
    write_app(tmp_path, SIMPLE_APP)
    port = free_port()
    session = session_factory("--app", "app", "--port", str(port))
    first = session.wait_event("ready")
    assert shows_debugger(http(port, "/boom")[1])

    mark = session.mark()
    result = session.cli("toggle", "debug")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "debug off"
    off = session.wait_event("ready", since=mark)
    assert off["pid"] != first["pid"] and off["debug"] is False
    status_code, body, _ = http(port, "/boom")
    assert status_code == 500 and "Werkzeug Debugger" not in body and "Traceback" not in body
    assert http(port, "/console")[0] == 404
    assert status_json(session)["toggles"]["debug"] is False

    mark = session.mark()
    assert session.cli("toggle", "debug", "on").stdout.strip() == "debug on"
    on = session.wait_event("ready", since=mark)
    assert on["pid"] != off["pid"] and on["debug"] is True
    assert shows_debugger(http(port, "/boom")[1])


def test_allow_without_for_grants_fifteen_minutes(tmp_path: Path, session_factory) -> None:
    write_app(tmp_path, SIMPLE_APP)
    port = free_port()
    session = session_factory("--app", "app", "--port", str(port), "--no-reload")
    session.wait_event("ready")
    result = session.cli("allow", "127.0.0.2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "127.0.0.2/32 may reach the debugger for 15m00s"
    (grant,) = status_json(session)["grants"]
    assert grant["network"] == "127.0.0.2/32" and grant["what"] == ["debugger"]
    assert 14 * 60 < grant["seconds_left"] <= 15 * 60
    assert "remote access: 127.0.0.2/32 (debugger) 1" in session.cli("status").stdout
    assert shows_debugger(http(port, "/boom", source="127.0.0.2")[1])


def test_two_sessions_at_once_are_picked_with_port(tmp_path: Path, session_factory) -> None:
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    write_app(first_dir, SIMPLE_APP)
    write_app(second_dir, SIMPLE_APP.replace('"hello"', '"second"'))
    first_port, second_port = free_port(), free_port()
    first = session_factory("--app", "app", "--port", str(first_port), "--no-reload", cwd=first_dir)
    second = session_factory("--app", "app", "--port", str(second_port), "--no-reload", cwd=second_dir)
    first_ready, second_ready = first.wait_event("ready"), second.wait_event("ready")

    # Without --port, status lists both; the other commands ask which one.
    listing = first.cli("status")
    assert listing.returncode == 0, listing.stderr
    assert f"http://127.0.0.1:{first_port}" in listing.stdout and f"http://127.0.0.1:{second_port}" in listing.stdout
    both = json.loads(first.cli("status", "--json").stdout)
    assert sorted(s["port"] for s in both) == sorted([first_port, second_port])
    refused = first.cli("allow", "127.0.0.2")
    assert refused.returncode == 2
    assert "pick one with --port" in refused.stderr and "Traceback" not in refused.stderr

    # --port picks the session, for every control command.
    assert status_json(first, "--port", str(second_port))["pid"] == second_ready["pid"]
    assert status_json(first, "--port", str(first_port))["pid"] == first_ready["pid"]
    assert first.cli("allow", "127.0.0.2", "--port", str(second_port)).returncode == 0
    assert [g["network"] for g in status_json(first, "--port", str(second_port))["grants"]] == ["127.0.0.2/32"]
    assert status_json(first, "--port", str(first_port))["grants"] == []
    assert shows_debugger(http(second_port, "/boom", source="127.0.0.2")[1])
    assert "Werkzeug Debugger" not in http(first_port, "/boom", source="127.0.0.2")[1]

    wrong = first.cli("revoke", "127.0.0.2", "--port", str(first_port))
    assert wrong.returncode == 2 and "no access to revoke" in wrong.stderr
    revoked = first.cli("revoke", "127.0.0.2", "--port", str(second_port))
    assert revoked.returncode == 0 and revoked.stdout.strip() == "revoked 127.0.0.2/32"
    assert status_json(first, "--port", str(second_port))["grants"] == []

    mark = first.mark()
    assert first.cli("toggle", "debugger", "off", "--port", str(first_port)).returncode == 0
    first.wait_event("gate", lambda e: e["debugger"] is False, since=mark)
    assert "Werkzeug Debugger" not in http(first_port, "/boom")[1]
    assert shows_debugger(http(second_port, "/boom")[1])
