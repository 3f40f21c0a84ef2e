"""Sending a request again from this machine, and writing it as a curl command.

A replay goes to the running server on 127.0.0.1 with the request's real
header values and body (the route may check them), marked with a header that
the agent takes out before the app sees it, so the new request shows as a
replay. curl commands are built from whatever form a face holds (redacted
unless revealed).
"""

from __future__ import annotations

import secrets
import shlex
import ssl
import time

from debugdash.protocol.control import ReplayResult  # noqa: F401  (what a replay gives: part of this module's API)
from debugdash.protocol.requests import REPLAY_HEADER, CapturedRequest

#: Headers that belong to one connection, not to the request: never copied.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "content-length",
     REPLAY_HEADER.lower()}
)
REPLAY_TIMEOUT = 30.0


def new_mark() -> str:
    """A fresh replay mark: the agent puts it on the replay's record, so this replay finds its record."""
    return secrets.token_hex(8)


def send(
    request: CapturedRequest, host: str, port: int, mark: str, *, https: bool = False, timeout: float = REPLAY_TIMEOUT
) -> tuple[int, str, int, float, str]:
    """Send ``request`` to ``host:port`` from 127.0.0.1 (blocking): status, reason, body size, seconds, error.

    The status is 0 and the error says why when no response came.
    """
    # Here, not at the top: http.client and the email package it needs are ~5 ms of every start.
    import http.client

    started = time.monotonic()
    source = _source_for(host)
    if https:
        # The development server's certificate is its own (often ad hoc): this is our own server.
        context = ssl._create_unverified_context()
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=timeout, source_address=source, context=context
        )
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout, source_address=source)
    try:
        connection.putrequest(request.method, request.target or "/", skip_host=True, skip_accept_encoding=True)
        for name, value in request.headers:
            if name.lower() not in _HOP_BY_HOP:
                connection.putheader(name, value)
        if not request.header("Host"):
            connection.putheader("Host", f"{host}:{port}")
        connection.putheader(REPLAY_HEADER, mark)
        body = request.body
        if body or request.method not in ("GET", "HEAD", "OPTIONS"):
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        response = connection.getresponse()
        size = len(response.read())
        return response.status, response.reason, size, time.monotonic() - started, ""
    except (OSError, http.client.HTTPException) as e:
        return 0, "", 0, time.monotonic() - started, str(e) or type(e).__name__
    finally:
        connection.close()


def _source_for(host: str) -> tuple[str, int] | None:
    """From 127.0.0.1 when the server is on IPv4 loopback: a replay is this machine's own request."""
    return ("127.0.0.1", 0) if host.startswith("127.") else None


def curl_command(request: CapturedRequest, base_url: str) -> str:
    """A curl command line that sends ``request`` to the server at ``base_url``.

    Written from the form given (redacted unless revealed), one option per
    line; the Host header is kept when it differs from the URL's.
    """
    url = base_url.rstrip("/") + (request.target if request.target.startswith("/") else "/" + request.target)
    parts = ["curl"]
    if request.method == "HEAD":
        parts.append("--head")
    elif request.method != "GET" or request.body:
        parts.append(f"-X {shlex.quote(request.method)}")
    parts.append(shlex.quote(url))
    netloc = base_url.split("://", 1)[-1].rstrip("/")
    for name, value in request.headers:
        lower = name.lower()
        if lower in _HOP_BY_HOP or (lower == "host" and value == netloc):
            continue
        parts.append(f"-H {shlex.quote(f'{name}: {value}')}")
    notes = []
    body = request.body
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            notes.append(f"# the body is {len(body)} bytes of binary data, not shown")
        else:
            parts.append(f"--data-binary {shlex.quote(text)}")
        if request.body_truncated:
            notes.append("# the body was cut at 64 KB")
    return " \\\n  ".join(parts) + "".join("\n" + note for note in notes)
