"""The debugger gate on a real server: local vs remote peers, live toggles, grants, rotation."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from debugdash.protocol.events import AccessRefused, Gate, Ready
from debugdash.protocol.commands import SetGate, SetGrants

from tests.agent.agentkit import Server, free_port, grant, stderr_of

FORWARDING_HEADERS = ["X-Forwarded-For", "Forwarded", "X-Real-IP", "Client-IP", "True-Client-IP"]


@pytest.fixture(scope="module")
def server(module_servers) -> Server:
    port = free_port()
    return module_servers(flask_args=["--debug", "run", "--no-reload", "--port", str(port)], port=port)


def _set_state(server: Server, debugger: bool, grants=(), rotate: bool = False) -> None:
    """Apply grants and the toggle, and wait until the agent has applied both."""
    sup = server.supervisor
    sup.send(SetGrants(grants=list(grants), rotate=rotate))
    mark = sup.mark()
    # The toggle is flipped twice so a `gate` event confirms everything before it was applied.
    sup.send(SetGate(debugger=not debugger))
    sup.send(SetGate(debugger=debugger))
    sup.wait(Gate, since=mark, debugger=debugger)


def _debugger_page(reply) -> tuple[str, int] | None:
    secret = re.search(r'SECRET = "([^"]+)"', reply.body)
    frame = re.findall(r'<div class="frame" id="frame-(\d+)">', reply.body)
    if not secret or not frame:
        return None
    return secret.group(1), int(frame[-1])


def _pin_cookie(server: Server, secret: str, source: str = "127.0.0.1") -> str:
    reply = server.get(f"/?__debugger__=yes&cmd=pinauth&pin={server.ready.pin}&s={secret}", source=source)
    assert '"auth": true' in reply.body
    return reply.headers["set-cookie"].split(";", 1)[0]


def _run_command(server: Server, secret: str, frame: int, cookie: str, source: str = "127.0.0.1"):
    return server.get(
        f"/nowhere?__debugger__=yes&cmd={quote('6*7')}&frm={frame}&s={secret}",
        source=source,
        headers={"Cookie": cookie},
    )


def test_ready_reports_the_server_and_its_pin(server: Server) -> None:
    ready = server.ready
    assert ready.url == f"http://127.0.0.1:{server.port}"
    assert ready.pid == server.proc.pid
    assert (ready.host, ready.port) == ("127.0.0.1", server.port)
    assert ready.debug is True
    assert ready.debugger is True
    assert ready.reloader is False
    assert re.fullmatch(r"\d{3}-\d{3}-\d{3}", ready.pin)
    assert ready.pin not in stderr_of(server.proc)


def test_local_peer_gets_the_debugger_and_its_console_runs_code(server: Server) -> None:
    _set_state(server, debugger=True)
    reply = server.get("/divide")
    assert reply.status == 500
    page = _debugger_page(reply)
    assert page, reply.body[:300]
    secret, frame = page
    cookie = _pin_cookie(server, secret)
    result = _run_command(server, secret, frame, cookie)
    assert result.status == 200 and "42" in result.body
    console = server.get("/console")
    assert console.status == 200 and "SECRET" in console.body


def test_the_console_of_a_failed_request_still_has_its_request(server: Server) -> None:
    """Flask keeps the failed request's context for the debugger's console, as under plain `flask run`."""
    _set_state(server, debugger=True)
    secret, frame = _debugger_page(server.get("/divide?n=7"))
    cookie = _pin_cookie(server, secret)
    reply = server.get(
        f"/?__debugger__=yes&cmd={quote('request.args[chr(110)] + request.path')}&frm={frame}&s={secret}",
        headers={"Cookie": cookie},
    )
    assert reply.status == 200 and "7/divide" in reply.body, reply.body[:300]


def test_remote_peer_gets_plain_500_and_no_debugger_endpoint(server: Server) -> None:
    _set_state(server, debugger=True)
    secret, frame = _debugger_page(server.get("/divide"))
    cookie = _pin_cookie(server, secret)
    mark = server.supervisor.mark()

    reply = server.get("/divide", source="127.0.0.2")
    assert reply.status == 500 and "SECRET" not in reply.body and "Traceback" not in reply.body
    assert server.get("/console", source="127.0.0.2").status == 404
    assert "42" not in _run_command(server, secret, frame, cookie, source="127.0.0.2").body
    resource = server.get("/nowhere?__debugger__=yes&cmd=resource&f=debugger.js", source="127.0.0.2")
    assert resource.status == 404

    refused = server.supervisor.wait(AccessRefused, since=mark, detail="/console")
    assert refused.address == "127.0.0.2" and refused.what == "debugger"
    server.supervisor.wait(AccessRefused, since=mark, detail="/nowhere")


@pytest.mark.parametrize("header", FORWARDING_HEADERS)
def test_forwarding_headers_never_change_the_outcome(server: Server, header: str) -> None:
    _set_state(server, debugger=True, grants=[grant("127.0.0.2/32", 900, server.now())])
    value = "for=127.0.0.2" if header == "Forwarded" else "127.0.0.2"
    denied = server.get("/divide", source="127.0.0.3", headers={header: value})
    assert denied.status == 500 and not _debugger_page(denied)
    local = "for=127.0.0.1" if header == "Forwarded" else "127.0.0.1"
    assert server.get("/console", source="127.0.0.3", headers={header: local}).status == 404
    remote = "for=203.0.113.7" if header == "Forwarded" else "203.0.113.7"
    assert _debugger_page(server.get("/divide", headers={header: remote}))


def test_toggle_is_live_on_the_same_process(server: Server) -> None:
    sup = server.supervisor
    _set_state(server, debugger=True)
    mark = sup.mark()
    sup.send(SetGate(debugger=False))
    off = sup.wait(Gate, since=mark, debugger=False)
    assert off.pid == server.ready.pid
    reply = server.get("/divide")
    assert reply.status == 500 and not _debugger_page(reply)
    assert server.get("/console").status == 404

    sup.send(SetGate(debugger=True))
    on = sup.wait(Gate, since=mark, debugger=True)
    assert on.pid == server.ready.pid
    assert _debugger_page(server.get("/divide"))
    assert server.get("/ok").status == 200
    assert sup.of(Ready) == [server.ready]


def test_no_refusal_is_reported_while_the_debugger_is_off(server: Server) -> None:
    _set_state(server, debugger=False)
    mark = server.supervisor.mark()
    assert server.get("/console", source="127.0.0.2").status == 404
    _set_state(server, debugger=True)
    assert not [e for e in server.supervisor.events[mark:] if isinstance(e, AccessRefused)]


def test_grant_opens_for_that_peer_until_the_deadline(server: Server) -> None:
    _set_state(server, debugger=True, grants=[grant("127.0.0.2/32", 900, server.now())])
    page = _debugger_page(server.get("/divide", source="127.0.0.2"))
    assert page
    secret, frame = page
    cookie = _pin_cookie(server, secret, source="127.0.0.2")
    assert "42" in _run_command(server, secret, frame, cookie, source="127.0.0.2").body
    assert not _debugger_page(server.get("/divide", source="127.0.0.3"))

    server.advance_clock(900)
    assert not _debugger_page(server.get("/divide", source="127.0.0.2"))
    after = _run_command(server, secret, frame, cookie, source="127.0.0.2")
    assert after.status == 404 and "42" not in after.body
    assert server.get("/console", source="127.0.0.2").status == 404
    # Local access is not a grant: it still follows the toggle.
    assert _debugger_page(server.get("/divide"))


def test_rotate_forgets_old_secrets_and_frames(server: Server) -> None:
    _set_state(server, debugger=True)
    secret, frame = _debugger_page(server.get("/divide"))
    cookie = _pin_cookie(server, secret)
    assert "42" in _run_command(server, secret, frame, cookie).body

    _set_state(server, debugger=True, rotate=True)
    stale = _run_command(server, secret, frame, cookie)
    assert "42" not in stale.body
    new_secret, new_frame = _debugger_page(server.get("/divide"))
    assert new_secret != secret
    assert "42" in _run_command(server, new_secret, new_frame, cookie).body


def test_each_start_gets_a_fresh_pin(start_server) -> None:
    first = start_server(flask_args=None)
    second = start_server(flask_args=None)
    assert first.ready.pin != second.ready.pin
    for server in (first, second):
        assert server.ready.pin not in stderr_of(server.proc)


def test_trusted_hosts_come_from_debugdash(start_server) -> None:
    from debugdash.protocol.commands import Configure

    port = free_port()
    server = start_server(
        flask_args=["--debug", "run", "--no-reload", "--port", str(port)],
        port=port,
        configure=Configure(debugger=True, trusted_hosts=["devbox.test"]),
    )
    # DNS-rebinding protection stays on: a Host debugdash did not advertise is refused.
    assert server.get("/console").status == 400
    assert server.get("/console", headers={"Host": f"devbox.test:{port}"}).status == 200
    # A later configure replaces the names, live.
    mark = server.supervisor.mark()
    server.supervisor.send(Configure(debugger=False, trusted_hosts=["other.test"]))
    server.supervisor.send(Configure(debugger=True, trusted_hosts=["other.test"]))
    server.supervisor.wait(Gate, since=mark, debugger=True)
    assert server.get("/console", headers={"Host": f"devbox.test:{port}"}).status == 400
    assert server.get("/console", headers={"Host": f"other.test:{port}"}).status == 200


def test_trusted_hosts_fall_back_to_werkzeugs_and_the_bound_host(start_server) -> None:
    port = free_port()
    server = start_server(flask_args=["--debug", "run", "--no-reload", "--port", str(port)], port=port)
    assert server.get("/console", headers={"Host": f"app.localhost:{port}"}).status == 200
    assert server.get("/console", headers={"Host": f"evil.test:{port}"}).status == 400
