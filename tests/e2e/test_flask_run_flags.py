"""The command line of `flask run`, as users type it: short flags, TLS, help
that shows what running takes, and a demo that takes every run option."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.support import SIMPLE_APP, Session, free_port, http, run_cli, write_app


def test_short_host_and_port_flags_like_flask_run(tmp_path: Path) -> None:
    write_app(tmp_path, SIMPLE_APP)
    port = free_port("127.0.0.4")
    session = Session("--app", "app", "-h", "127.0.0.4", "-p", str(port), "--no-reload", cwd=tmp_path)
    try:
        ready = session.wait_event("ready")
        assert (ready["host"], ready["port"]) == ("127.0.0.4", port)
        assert http(port, "/", host="127.0.0.4")[:2] == (200, "hello")
    finally:
        session.close()


def test_help_lists_the_run_options_and_a_lone_h_still_asks_for_help() -> None:
    for args in (["--help"], ["-h"]):
        result = run_cli(*args)
        assert result.returncode == 0
        for option in ("-h, --host", "-p, --port", "--cert", "--reload / --no-reload", "--attach-port"):
            assert option in result.stdout, (args, option)
        assert "status" in result.stdout and "allow" in result.stdout
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("debugdash, version ")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed to make a test certificate")
def test_cert_and_key_serve_https(tmp_path: Path) -> None:
    write_app(tmp_path, SIMPLE_APP)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )
    port = free_port()
    session = Session("--app", "app", "-p", str(port), "--cert", str(cert), "--key", str(key), cwd=tmp_path)
    try:
        ready = session.wait_event("ready")
        assert ready["url"] == f"https://127.0.0.1:{port}"
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/", context=context, timeout=30) as response:
            assert (response.status, response.read()) == (200, b"hello")
    finally:
        session.close()


def test_key_without_cert_and_cert_with_a_script_name_the_fix(tmp_path: Path) -> None:
    write_app(tmp_path, SIMPLE_APP)
    no_cert = run_cli("--app", "app", "--key", "k.pem", "--headless", cwd=tmp_path)
    assert no_cert.returncode == 2 and no_cert.stderr.strip() == "Error: --key goes with --cert CERTFILE, as for flask run"
    script = run_cli("--script", "app.py", "--cert", "adhoc", "--headless", cwd=tmp_path)
    assert script.returncode == 2
    assert "ssl_context to app.run()" in script.stderr and len(script.stderr.strip().splitlines()) == 1


def test_demo_takes_the_run_options(tmp_path: Path) -> None:
    port, attach_port = free_port(), free_port()
    session = Session("demo", "-p", str(port), "--no-reload", "--attach", "--attach-port", str(attach_port), cwd=tmp_path)
    try:
        ready = session.wait_event("ready")
        assert ready["port"] == port and ready["reloader"] is False
        listening = session.wait_event("attach_listening", timeout=60)
        assert listening["port"] == attach_port
    finally:
        session.close()
