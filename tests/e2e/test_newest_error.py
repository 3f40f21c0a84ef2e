"""Asking the serving process for an error group's newest occurrence, through the real Supervisor."""

from __future__ import annotations

import asyncio
import http.client
import sys

from debugdash.core.settings import Settings
from debugdash.core.supervisor import Supervisor
from tests.support import free_port, wait_for, write_app

APP = """
    from flask import Flask

    app = Flask(__name__)

    @app.get("/fail/<int:n>")
    def fail(n):
        marker = f"request {n}"
        raise LookupError(n)
"""


def _fail_in_a_row(port: int, count: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for n in range(1, count + 1):
            conn.request("GET", f"/fail/{n}")
            conn.getresponse().read()
    finally:
        conn.close()


async def test_when_asked_the_newest_occurrence_is_there_whole_with_its_locals(tmp_path):
    write_app(tmp_path, APP)
    settings = Settings.for_tests(app="app", port=free_port(), cwd=tmp_path, python=sys.executable, reload=False, debugger=False)
    supervisor = Supervisor(settings)
    try:
        await supervisor.start()
        await asyncio.to_thread(wait_for, lambda: supervisor.ready is not None, 30.0, 0.05, "the server to be ready")
        await asyncio.to_thread(_fail_in_a_row, settings.port, 200)
        await asyncio.to_thread(wait_for, lambda: supervisor.state.error_count == 200, 30.0, 0.05, "every failure counted")
        (group,) = supervisor.state.error_groups

        await supervisor.console.send_newest(group.key)

        # Whether it was waiting or had just gone out: the newest, whole, as it was when it failed.
        latest = supervisor.state.error_group(group.key).latest
        assert latest.count == 200 and latest.path == "/fail/200"
        assert latest.exception.raised_at.locals["marker"] == "'request 200'"
    finally:
        await supervisor.stop()
