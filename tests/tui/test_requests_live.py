"""The Requests tab on a real Flask server, with real HTTP from 127.0.0.1 and
127.0.0.2: requests show up live, ``R`` replays (a POST only after a yes) and
the replay shows as a new request, ``C`` copies a curl command, an error
group's last request replays from the Errors tab, a fix is verified after the
reload with no request from the test, and the refused inbox grants an address
and trusts a Host name from its rows."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from debugdash.core.settings import Settings
from debugdash.tui.screens.confirm import ConfirmScreen
from debugdash.tui.screens.grant import GrantScreen
from debugdash.tui.widgets.request_detail import RequestDetail
from debugdash.tui.widgets.traceback import TracebackView
from tests.requests.reqkit import APP
from tests.requests.reqkit import send as _send
from tests.support import free_port, write_app
from tests.tui.conftest import rows_on_screen, running_dashboard, screen_text, toasts, until
from tests.tui.test_live import _save
from tests.tui.test_palette import run_command
from tests.tui.test_requests_tab import _paths, _rows


def _first_row(table) -> str:
    """The first row under the header as drawn; empty while the table is not laid out yet
    (shown, but still one line high: indexing it raised instead of waiting)."""
    return "".join(rows_on_screen(table)[1:2])

FAILING = '''
    from flask import Flask

    app = Flask(__name__)

    @app.route("/total")
    def total():
        prices = {"A-7": 9.5}
        return str(prices["B-12"])
'''


async def send(port: int, path: str = "/", **kwargs) -> tuple[int, str]:
    return await asyncio.to_thread(_send, port, path, **kwargs)


def _settings(tmp_path: Path, source: str = APP, *, reload: bool = False) -> Settings:
    write_app(tmp_path, source)
    return Settings.for_tests(app="app", port=free_port(), attach_port=free_port(), cwd=tmp_path, python=sys.executable, reload=reload)


def _detail(app) -> str:
    return app.query_one(RequestDetail).query_one("#request-detail-text").content.plain


def _row_of(app, fragment: str) -> str:
    return next((row for row in _rows(app) if fragment in row), "")


async def _highlight(pilot, path: str) -> None:
    app = pilot.app
    table = app.query_one("#requests-table")
    index = next(n for n, shown in enumerate(_paths(app)) if shown.startswith(path))
    await pilot.press(*["down" if index > table.cursor_row else "up"] * abs(index - table.cursor_row))
    await until(pilot, lambda: path in _detail(app).split("\n")[0], what=lambda: _detail(app)[:300])


async def test_requests_from_two_peers_show_live_and_a_500_shows_its_traceback(tmp_path):
    async with running_dashboard(_settings(tmp_path), size=(120, 40)) as (app, pilot, _sup):
        await pilot.press("6")
        assert (await send(app.sup.settings.port, "/"))[0] == 200
        assert (await send(app.sup.settings.port, "/private", source="127.0.0.2"))[0] == 401
        assert (await send(app.sup.settings.port, "/boom"))[0] == 500
        await until(pilot, lambda: _paths(app)[:3] == ["/boom", "/private", "/"], what=lambda: _rows(app))
        assert "401" in _row_of(app, "/private") and "127.0.0.2" in _row_of(app, "/private")
        assert "200" in _row_of(app, " / ") and "127.0.0.1" in _row_of(app, " / ")
        assert "500" in _row_of(app, "/boom")

        await until(pilot, lambda: "ZeroDivisionError: division by zero" in _detail(app), what=lambda: _detail(app))
        assert 'numbers["answer"] / 0' in _detail(app)
        # The headers as they came, but for the redacted ones.
        assert "User-Agent" in _detail(app) or "Host: 127.0.0.1" in _detail(app), _detail(app)


async def test_R_replays_a_get_at_once_a_post_after_a_yes_and_C_copies_a_redacted_curl(tmp_path):
    async with running_dashboard(_settings(tmp_path), size=(120, 40)) as (app, pilot, sup):
        port = sup.settings.port
        await pilot.press("6")
        assert (await send(port, "/private", headers={"Authorization": "Bearer abc123"}))[0] == 200
        await until(pilot, lambda: _paths(app)[:1] == ["/private"], what=lambda: _rows(app))
        await until(pilot, lambda: "Authorization: [redacted]" in _detail(app), what=lambda: _detail(app))
        assert "abc123" not in screen_text(app)

        await run_command(pilot, "Copy the highlighted request as curl")
        await until(pilot, lambda: app.clipboard.startswith("curl"), what="a curl command copied")
        assert "/private" in app.clipboard and "[redacted]" in app.clipboard and "abc123" not in app.clipboard, app.clipboard

        # A GET is sent again at once, with the real header: it still authenticates.
        await pilot.press("R")
        await until(pilot, lambda: "↻" in _row_of(app, "/private"), what=lambda: _rows(app))
        assert _paths(app)[:2] == ["↻", "/private"] and "200" in _rows(app)[0], _rows(app)
        await until(pilot, lambda: any("/private → 200 OK" in toast for toast in toasts(app)), what=lambda: toasts(app))

        body = b'{"count": 41}'
        headers = {"Authorization": "Bearer abc123", "Content-Type": "application/json"}
        assert (await send(port, "/api", method="POST", headers=headers, body=body))[0] == 200
        await until(pilot, lambda: _paths(app)[0] == "/api", what=lambda: _rows(app))
        await pilot.press("home")
        await until(pilot, lambda: "POST /api" in _detail(app), what=lambda: _detail(app))
        assert '"count": 41' in _detail(app)

        # A POST asks first; "no" (or Escape, or Enter on the focused No) sends nothing.
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "POST /api" in screen_text(app) and "may change data" in screen_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert (await send(port, "/"))[0] == 200  # a marker: anything replayed would come before it
        await until(pilot, lambda: _paths(app)[0] == "/", what=lambda: _rows(app))
        assert not _row_of(app, "↻ /api"), _rows(app)

        await _highlight(pilot, "/api")
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: "↻ /api" in _rows(app)[0], what=lambda: _rows(app))
        assert "200" in _rows(app)[0]


async def test_R_on_an_error_group_replays_its_last_request(tmp_path):
    async with running_dashboard(_settings(tmp_path), size=(100, 32)) as (app, pilot, sup):
        assert (await send(sup.settings.port, "/boom"))[0] == 500
        errors = app.query_one("#errors-table")
        await until(pilot, lambda: errors.display and "ZeroDivisionError" in _first_row(errors), what=lambda: screen_text(app))
        assert rows_on_screen(errors)[1].split()[0] == "1"
        app.clear_notifications()
        await pilot.press("R")
        await until(pilot, lambda: _first_row(errors).split()[:1] == ["2"], what=lambda: rows_on_screen(errors))
        await until(pilot, lambda: any("GET /boom → 500" in toast and "raised" in toast for toast in toasts(app)), what=lambda: toasts(app))
        await pilot.press("6")
        await until(pilot, lambda: _paths(app)[:3] == ["↻", "/boom"] or "↻ /boom" in _rows(app)[0], what=lambda: _rows(app))


async def test_after_a_fix_and_its_reload_the_group_shows_fixed_with_no_request_from_the_test(tmp_path):
    settings = _settings(tmp_path, FAILING, reload=True)
    async with running_dashboard(settings, size=(100, 32)) as (app, pilot, sup):
        assert (await send(settings.port, "/total"))[0] == 500
        errors = app.query_one("#errors-table")
        await until(pilot, lambda: errors.display and "KeyError" in _first_row(errors), what=lambda: screen_text(app))
        source = tmp_path / "app.py"
        _save(source, source.read_text().replace('prices["B-12"]', 'prices.get("B-12", 0)'))
        await until(pilot, lambda: "fixed ✓" in _first_row(errors), timeout=60, what=lambda: rows_on_screen(errors))
        assert "still failing" not in screen_text(app)


async def test_the_refused_inbox_grants_from_a_row_and_trusts_a_host_name(tmp_path):
    async with running_dashboard(_settings(tmp_path), size=(100, 32)) as (app, pilot, sup):
        port = sup.settings.port
        status, _ = await send(port, "/console", source="127.0.0.3")
        assert status == 404
        await pilot.press("4")
        inbox = app.query_one("#refused-table")
        await until(pilot, lambda: inbox.display and "127.0.0.3" in "".join(rows_on_screen(inbox)), what=lambda: screen_text(app))
        inbox.focus()
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, GrantScreen))
        assert app.screen.query_one("#grant-address").value == "127.0.0.3"
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, GrantScreen))

        async def reaches_console(**kwargs) -> bool:
            status, body = await send(port, "/console", **kwargs)
            return status == 200 and "__debugger__" in body

        deadline = time.monotonic() + 20
        while not await reaches_console(source="127.0.0.3"):
            assert time.monotonic() < deadline, "127.0.0.3 never reached the debugger after the grant"
            await pilot.pause(0.1)

        host = {"Host": f"myhost.test:{port}"}
        assert not await reaches_console(headers=host)
        await until(pilot, lambda: "myhost.test" in "".join(rows_on_screen(inbox)), what=lambda: rows_on_screen(inbox))
        inbox.focus()
        rows = rows_on_screen(inbox)
        row = next(n for n, text in enumerate(rows[1:]) if "myhost.test" in text)
        await pilot.press(*["down"] * (row - inbox.cursor_row) if row > inbox.cursor_row else ["up"] * (inbox.cursor_row - row))
        await run_command(pilot, "Trust the highlighted refused host name")
        deadline = time.monotonic() + 20
        while not await reaches_console(headers=host):
            assert time.monotonic() < deadline, "the console never answered Host myhost.test after trusting it"
            await pilot.pause(0.1)



async def test_a_failed_login_never_shows_its_password_the_form_nor_the_secret_local(tmp_path):
    """The header, the form field and a local named secret_token, on every screen they reach."""
    async with running_dashboard(_settings(tmp_path), size=(120, 40)) as (app, pilot, sup):
        headers = {"Authorization": "Bearer abc123", "Content-Type": "application/x-www-form-urlencoded"}
        status, _ = await send(sup.settings.port, "/login", method="POST", headers=headers, body=b"user=ann&password=hunter2")
        assert status == 500
        errors = app.query_one("#errors-table")
        await until(pilot, lambda: errors.display and "RuntimeError" in _first_row(errors), what=lambda: screen_text(app))
        # The raising frame's locals, opened as a user would.
        view = app.query_one(TracebackView)
        view.focus()
        await pilot.press("end")
        for _ in range(len(view.options)):
            if "secret_token" in screen_text(app):
                break
            await pilot.press("up", "enter")
        await until(pilot, lambda: "secret_token" in screen_text(app), what=lambda: screen_text(app))
        assert "[redacted]" in next(line for line in screen_text(app).splitlines() if "secret_token" in line)
        shown = [screen_text(app)]

        await pilot.press("6")
        await until(pilot, lambda: "password = [redacted]" in _detail(app), what=lambda: _detail(app))
        assert "Authorization: [redacted]" in _detail(app)
        shown.append(screen_text(app))
        app.query_one(RequestDetail).focus()
        for _ in range(4):
            await pilot.press("pagedown")
            shown.append(screen_text(app))
        for secret in ("hunter2", "abc123"):
            assert not any(secret in screen for screen in shown), secret
