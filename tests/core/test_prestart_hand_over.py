"""The hand-over to the early-started server (``core.prestart``), alone.

An early server that finished its imports before debugdash was ready waits in
``recv``: it reads the command line the moment it arrives and closes its end.
The hand-over must not fail then (it did: it sent the empty rest of the line
to the closed end, got EPIPE, and the fitting early start was thrown away —
about half the launches of a project with a ``.flaskenv``, whose reading makes
debugdash later than the early server).
"""

from __future__ import annotations

import json
import socket
import sys
import threading

import pytest

from debugdash.core import prestart


def test_the_hand_over_holds_when_the_early_server_reads_its_line_and_closes_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    received: list[bytes] = []

    def early_server() -> None:
        data = b""
        while not data.endswith(b"\n"):
            chunk = theirs.recv(1 << 16)
            if not chunk:
                break
            data += chunk
        received.append(data)
        theirs.close()

    reader = threading.Thread(target=early_server)
    reader.start()
    real_send_fds = socket.send_fds

    def send_fds_then_the_early_server_closes(sock, buffers, fds, *rest):
        # The kernel's ordering, made certain: the whole line went out and the
        # early server has read it and closed its end before we go on.
        sent = real_send_fds(sock, buffers, fds, *rest)
        reader.join(10)
        return sent

    monkeypatch.setattr(socket, "send_fds", send_fds_then_the_early_server_closes)
    early = prestart.Prestart(None, ours, sys.executable, "/", {})  # type: ignore[arg-type]  # no process needed
    early.hand_over([sys.executable, "-m", "debugdash.agent", "flask", "run"], {"FLASK_APP": "app"}, {})
    reader.join(10)
    assert json.loads(received[0])["args"] == ["flask", "run"]
    assert json.loads(received[0])["env"] == {"FLASK_APP": "app"}
