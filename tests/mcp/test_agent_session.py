"""`debugdash mcp` driven by the MCP SDK's own client over stdio, against a real
session: an agent reads a failure, fixes the file, waits for the reload, and
checks; it can narrow access and never widen it; and each thing it does is in the
audit log and the session's events."""

from __future__ import annotations

import json
from pathlib import Path

from tests.mcp.mcpkit import CLIENT_NAME, agent, audit_lines, call, call_json, tool_names
from tests.support import free_port, http, wait_for, write_app

HIDDEN_ROUTE_APP = """
    from flask import Flask

    app = Flask(__name__)


    @app.route("/")
    def index():
        return "home"


    @app.route("/hidden/checkout", methods=["GET", "POST"])
    def checkout():
        api_token = "tok-8c1f-very-secret"
        cart = {"items": 3}
        return f"total {cart['total']}"
"""


def _start(session_factory, tmp_path: Path, source: str = HIDDEN_ROUTE_APP, *args: str):
    write_app(tmp_path, source)
    port = free_port()
    session = session_factory("--app", "app", "--port", str(port), *args)
    session.wait_event("ready")
    return session, port


async def test_an_agent_reads_the_failure_fixes_the_file_and_sees_the_replay_succeed(tmp_path: Path, session_factory) -> None:
    session, port = _start(session_factory, tmp_path)
    assert http(port, "/hidden/checkout", headers={"Authorization": "Bearer sk-live-4242"})[0] == 500
    failed_id = session.wait_event("request_error")["request_id"]

    async with agent(session) as client:
        names = await tool_names(client)
        assert {"status", "errors", "error", "requests", "request", "replay", "logs", "reloads", "wait_for_reload", "restart"} <= names
        assert "eval" not in names, "eval is listed only when the human started the session with --mcp-allow-eval"

        (group,) = await call_json(client, "errors")
        assert (group["type"], group["request"], group["count"]) == ("KeyError", "GET /hidden/checkout", 1)

        failed, failure = await call(client, "error", group=group["group"])
        assert not failed, failure
        assert failure.startswith("# KeyError: 'total'")
        assert "`GET /hidden/checkout`" in failure and f"request `{failed_id}`" in failure
        assert "return f\"total {cart['total']}\"" in failure, "the failing frame's source"
        assert "cart      = {'items': 3}" in failure, "the failing frame's locals"
        assert "api_token" in failure and "tok-8c1f-very-secret" not in failure, "a secret-named local is redacted"

        failed, logs = await call(client, "logs", search="keyerror")
        assert not failed and "KeyError: 'total'" in logs

        (listed,) = await call_json(client, "requests", status="5xx", path="/hidden")
        assert (listed["id"], listed["status"], listed["raised"]) == (failed_id, 500, True)
        one = await call_json(client, "request", id=failed_id)
        assert (one["method"], one["path"], one["status"]) == ("GET", "/hidden/checkout", 500)
        assert "/hidden/checkout" in one["curl"] and "Authorization: [redacted]" in one["curl"]
        assert "sk-live-4242" not in json.dumps(one)
        replayed = await call_json(client, "replay", id=failed_id)
        assert (replayed["status"], replayed["ok"]) == (500, False)

        # The fix, as an agent's edit would write it; the next call waits for the reload.
        write_app(tmp_path, HIDDEN_ROUTE_APP.replace("cart['total']", "cart['items']"))
        outcome = await call_json(client, "wait_for_reload", timeout=60)
        assert outcome["outcome"] == "ready", outcome
        assert outcome["file"] == str(tmp_path / "app.py")
        replayed = await call_json(client, "replay", id=failed_id)
        assert (replayed["status"], replayed["ok"]) == (200, True)

        reloads = await call_json(client, "reloads")
        assert reloads[0]["file"] == str(tmp_path / "app.py") and reloads[0]["outcome"] == "ready"

    # What the agent did is the session's to show and to keep.
    def said_goodbye() -> list[dict] | None:
        events = session.named("coding_agent")
        return events if events and events[-1]["state"] == "disconnected" else None

    done = wait_for(said_goodbye, what="the agent's goodbye")
    calls = [(e["client"], e["tool"], e["ok"]) for e in done if e["state"] == "call"]
    assert calls[:3] == [(CLIENT_NAME, "errors", True), (CLIENT_NAME, "error", True), (CLIENT_NAME, "logs", True)]
    records = [r for r in audit_lines(session) if r[2].startswith("mcp")]
    assert [r[2] for r in records][0] == "mcp-connect" and records[-1][2] == "mcp-disconnect"
    assert any(r[2] == "mcp" and r[4] == "logs" and '"search": "keyerror"' in r[5] for r in records)
    assert all(CLIENT_NAME in r[3] for r in records)


async def test_wait_for_reload_reports_a_load_error_even_when_it_came_before_the_call(tmp_path: Path, session_factory) -> None:
    session, port = _start(session_factory, tmp_path)
    async with agent(session) as client:
        await call_json(client, "status")  # the agent's previous call: a reload after it counts
        mark = session.mark()
        write_app(tmp_path, HIDDEN_ROUTE_APP + "\n    def broken(:\n")
        session.wait_event("load_error", since=mark)
        session.wait_event("ready", since=mark)  # the worker serves the error page: no fix
        outcome = await call_json(client, "wait_for_reload", timeout=60)
        assert outcome["outcome"] == "load_error", outcome
        assert "SyntaxError" in outcome["message"] or "invalid syntax" in outcome["message"]

        write_app(tmp_path, HIDDEN_ROUTE_APP)
        outcome = await call_json(client, "wait_for_reload", timeout=60)
        assert outcome["outcome"] == "ready", outcome
        assert http(port, "/")[:2] == (200, "home")


async def test_no_tool_grants_revokes_reveals_the_pin_or_widens_access(tmp_path: Path, session_factory) -> None:
    session, port = _start(session_factory, tmp_path, HIDDEN_ROUTE_APP, "--no-reload")
    pin = session.pin()
    async with agent(session) as client:
        asked = {
            ("grant_access", (("address", "203.0.113.7"), ("minutes", 30))): "debugdash allow 203.0.113.7 --for 30m",
            ("revoke_access", ()): "debugdash revoke --all",
            ("debugger_pin", ()): "debugdash status",
            ("new_pin", ()): "debugdash new-pin",
            ("toggle", (("name", "attach"), ("state", "on"))): "debugdash toggle attach on",
            ("toggle", (("name", "debug"), ("state", "on"))): "debugdash toggle debug on",
        }
        for (tool, arguments), command in asked.items():
            failed, text = await call(client, tool, **dict(arguments))
            assert failed and "refused" in text and command in text, (tool, text)

        failed, text = await call(client, "eval", occurrence="1-1", code="1")
        assert failed and "eval" in text, "without --mcp-allow-eval there is no eval tool to call"

        failed, text = await call(client, "toggle", name="debugger", state="off")
        assert (failed, text) == (False, "debugger off"), "narrowing access is the agent's to do"
        failed, text = await call(client, "toggle", name="debugger", state="on")
        assert failed and "debugdash toggle debugger on" in text

        outputs = [await call(client, tool) for tool in ("status", "logs", "reloads")]
        assert all(pin not in text for _, text in outputs)
        status = json.loads(outputs[0][1])
        assert status["grants"] == [] and status["toggles"]["attach"] is False
        assert status["allowed_to_agents"] == {"eval": False, "unsafe_replay": False}

    after = json.loads(session.cli("status", "--json").stdout)
    assert after["grants"] == [] and after["toggles"]["debugger"] is False and after["toggles"]["attach"] is False
    assert after["pin"] == pin, "the PIN did not change"
    refused = [r for r in audit_lines(session) if r[2] == "mcp" and r[5].endswith("-> refused")]
    assert {r[4] for r in refused} == {"grant_access", "revoke_access", "debugger_pin", "new_pin", "toggle"}


async def test_a_post_is_replayed_only_when_the_human_allowed_unsafe_replays(tmp_path: Path, session_factory) -> None:
    for allowed in (False, True):
        flags = ("--no-reload", "--mcp-allow-unsafe-replay") if allowed else ("--no-reload",)
        session, port = _start(session_factory, tmp_path, HIDDEN_ROUTE_APP, *flags)
        assert http(port, "/hidden/checkout", method="POST")[0] == 500
        post_id = session.wait_event("request_error")["request_id"]
        async with agent(session) as client:
            status = await call_json(client, "status")
            assert status["allowed_to_agents"] == {"eval": False, "unsafe_replay": allowed}
            mark = session.mark()
            failed, text = await call(client, "replay", id=post_id)
            if allowed:
                assert not failed and json.loads(text)["status"] == 500, text
                session.wait_event("request", lambda e: e["method"] == "POST" and e["replay"], since=mark)
            else:
                assert failed and f"debugdash replay {post_id} --yes" in text and "--mcp-allow-unsafe-replay" in text, text
                assert not [e for e in session.named("request", mark) if e["method"] == "POST"], "nothing was sent"
        session.close()


async def test_eval_is_offered_only_with_the_humans_flag_and_runs_in_the_failed_frame(tmp_path: Path, session_factory) -> None:
    session, port = _start(session_factory, tmp_path, HIDDEN_ROUTE_APP, "--no-reload", "--mcp-allow-eval")
    assert http(port, "/hidden/checkout")[0] == 500
    session.wait_event("request_error")
    async with agent(session) as client:
        assert "eval" in await tool_names(client)
        (group,) = await call_json(client, "errors")
        result = await call_json(client, "eval", occurrence=group["occurrence"], code="print(sorted(cart)); cart['items'] * 2")
        assert (result["output"], result["value"]) == ("['items']\n", "6"), result
        result = await call_json(client, "eval", occurrence=group["occurrence"], code="password = 'hunter2'; len(password)")
        assert result["value"] == "7"

        # The newest failure as one document, for clients that prefer a resource or a prompt.
        resource = await client.read_resource("debugdash://failures/newest")
        document = resource.contents[0].text
        assert document.startswith("# KeyError: 'total'") and "cart      = {'items': 3}" in document
        prompt = await client.get_prompt("newest_failure")
        assert "wait_for_reload" in prompt.messages[0].content.text and document in prompt.messages[0].content.text
    evals = [r for r in audit_lines(session) if r[2] == "mcp" and r[4] == "eval"]
    assert len(evals) == 2 and all("hunter2" not in r[5] for r in evals), evals
