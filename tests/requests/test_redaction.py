"""Secrets in requests never leave in cleartext, and a replay still sends them (issue 12, point 2).

An ``Authorization: Bearer abc123`` header, a ``password`` form field, a JSON
``api_key`` and a traceback local ``secret_token`` are looked for in every face
a user reads outside the dashboard: ``--json`` output, ``requests --json``,
``curl ID``, ``status --json`` and the audit log. The dashboard's snapshot is
the Requests tab's own test.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from tests.requests.reqkit import record_for, send, start
from tests.support import wait_for

SECRETS = ("abc123", "hunter2", "k-77-secret", "hunter2-session")


def _no_secret_in(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} in cleartext in {where}"


def test_secrets_are_redacted_everywhere_and_the_replay_authenticates(session_factory, tmp_path: Path) -> None:
    session, port = start(session_factory, tmp_path)
    auth = {"Authorization": "Bearer abc123"}

    assert send(port, "/private", headers=auth)[0] == 200
    form = b"user=ann&password=hunter2"
    login = send(port, "/login", method="POST", body=form,
                 headers={**auth, "Content-Type": "application/x-www-form-urlencoded"})
    assert login[0] == 500
    api = json.dumps({"api_key": "k-77-secret", "count": 1}).encode()
    assert send(port, "/api", method="POST", body=api, headers={**auth, "Content-Type": "application/json"})[0] == 200

    private = record_for(session, "/private")
    failed = record_for(session, "/login")
    posted = record_for(session, "/api")
    error = session.wait_event("request_error", lambda e: e["path"] == "/login")
    frame_locals = [f["locals"] for f in error["chain"][-1]["frames"] if "secret_token" in f["locals"]]
    assert frame_locals and frame_locals[0]["secret_token"] == "[redacted]"

    curls = {}
    for record in (private, failed, posted):
        result = session.cli("curl", str(record["id"]))
        assert result.returncode == 0, result.stderr
        curls[record["path"]] = result.stdout
    # What the curl commands show: the names, never the values.
    assert "Authorization: [redacted]" in curls["/private"]
    assert "password=%5Bredacted%5D" in curls["/login"] and "user=ann" in curls["/login"]
    assert '"api_key": "[redacted]"' in curls["/api"] and '"count": 1' in curls["/api"]
    argv = shlex.split(curls["/login"].replace("\\\n", " "))
    assert argv[:3] == ["curl", "-X", "POST"] and argv[3] == f"http://127.0.0.1:{port}/login"

    # A refused debugger request with secrets of its own, so the audit log has a line to read.
    assert send(port, "/console?password=hunter2", source="127.0.0.3", headers=auth)[0] == 404
    listed = session.cli("requests", "--json")
    status = session.cli("status", "--json")
    audit_path = Path(json.loads(status.stdout)["audit_log"])
    wait_for(lambda: audit_path.exists() and "refuse" in audit_path.read_text(), what="the refusal audited")
    # The replay authenticates: the route answers 200 only with the real header.
    replayed = session.cli("replay", str(private["id"]))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert replayed.stdout.startswith("HTTP 200")
    wait_for(lambda: any(e["path"] == "/private" and e["replay"] for e in session.named("request")), what="the replay's record")

    for name, text in {
        "--json output": "\n".join(session.stdout_lines),
        "requests --json": listed.stdout,
        "curl": "\n".join(curls.values()),
        "status --json": status.stdout,
        "replay": replayed.stdout,
        "the audit log": audit_path.read_text(),
    }.items():
        _no_secret_in(text, name)
