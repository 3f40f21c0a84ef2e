"""A request's record does not depend on how the client leaves.

After a response, Werkzeug's development server reads what is left on the
socket, and when that read fails (the client reset the connection, as a
browser does when it cancels, or a script that closes at once may) it never
closes the app's response. A record made at that close was lost: failed
requests were missing from the Requests tab while their tracebacks were there.
"""

from __future__ import annotations

import socket
import struct

from tests.requests.reqkit import start
from tests.support import wait_for

COUNT = 5


def _get_then_reset(port: int, path: str) -> bytes:
    """GET ``path``, read the whole response, then reset the connection (RST, not FIN)."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
            head, _, body = response.partition(b"\r\n\r\n")
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), None)
            if length is not None and len(body) >= length:
                break
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return response


def test_every_failed_request_gets_its_record_when_the_client_resets_the_connection(session_factory, tmp_path) -> None:
    session, port = start(session_factory, tmp_path)
    for _ in range(COUNT):
        assert _get_then_reset(port, "/boom").startswith(b"HTTP/1.1 500")

    def records() -> list[dict]:
        return [event for event in session.named("request") if event["path"] == "/boom"]

    wait_for(lambda: len(records()) == COUNT, timeout=30, what=f"{COUNT} records of /boom")
    assert all(record["status"] == 500 and record["error"] for record in records())
    # Repeats of a group under load travel as counts (issue 16): each traceback or repeat
    # that arrived names one of these requests, and the first is a whole traceback.
    linked = [event["request_id"] for event in session.named("request_error") + session.named("request_error_repeat")]
    assert linked and set(linked) <= {record["id"] for record in records()}
    assert session.named("request_error")[0]["request_id"] == min(record["id"] for record in records())
