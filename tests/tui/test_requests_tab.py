"""The Requests tab against a session's requests as the agent hands them over
(replayed through the real Supervisor's request store): the list newest first,
the filter, the detail, secrets redacted unless revealed for one request, copy
as curl, the verify-on-reload switch and its verdict on the Errors tab, and the
refused-requests inbox on the Access tab."""

from __future__ import annotations

import time

import pytest

from debugdash.tui.screens.grant import GrantScreen
from debugdash.tui.widgets.request_detail import RequestDetail
from debugdash.tui.widgets.requests_pane import NO_REQUESTS
from tests.tui import scenes
from tests.tui.conftest import rows_on_screen, screen_text, toasts, until
from tests.tui.test_palette import run_command

SECRETS = (scenes.SECRET_TOKEN, scenes.SECRET_PASSWORD, scenes.SECRET_KEY)


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _rows(app) -> list[str]:
    table = app.query_one("#requests-table")
    if not table.display:
        return []
    return [row for row in rows_on_screen(table)[1:] if row.strip()]


def _paths(app) -> list[str]:
    return [row.split()[2] for row in _rows(app)]


def _detail(app) -> str:
    """Everything the detail pane holds, scrolled or not (as the user reads it by scrolling)."""
    static = app.query_one(RequestDetail).query_one("#request-detail-text")
    return static.content.plain


async def _traffic(pilot, size=(100, 32)):
    app = pilot.app
    await scenes.publish(pilot, [*scenes.running_with_errors(), *scenes.request_traffic(app.sup)])
    app.clear_notifications()
    await pilot.press("6")
    await until(pilot, lambda: _rows(app), what="the requests listed")


async def _highlight(pilot, path: str) -> None:
    """Move the highlight with the arrow keys to the request whose path starts with ``path``."""
    app = pilot.app
    table = app.query_one("#requests-table")
    index = next(n for n, shown in enumerate(_paths(app)) if shown.startswith(path))
    step = "down" if index > table.cursor_row else "up"
    await pilot.press(*[step] * abs(index - table.cursor_row))
    await until(pilot, lambda: path in _detail(app).split("\n")[0], what=lambda: _detail(app)[:200])


async def test_the_list_is_newest_first_status_coloured_and_filters_by_class_and_path():
    app, _sup, _clock = scenes.make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("6")
        assert NO_REQUESTS in screen_text(app)
        await _traffic(pilot)
        assert _paths(app) == ["/api/keys", "/checkout", "/missing", "/login", "/api/orders?page=2&token=[redacted]", "/static/app.css", "/"]
        rows = _rows(app)
        assert "500" in rows[1] and "127.0.0.1" in rows[1] and "38ms" in rows[1], rows
        assert "127.0.0.2" in rows[3], rows
        # Status coloured: a 5xx in red, a 2xx in green (as drawn).
        table = app.query_one("#requests-table")
        cells = {str(cell): cell.style for cell in table.get_column("status")}
        assert "red" in str(cells["500"]) and "green" in str(cells["200"]) and "yellow" in str(cells["404"]), cells

        await pilot.press("slash")
        await pilot.press(*"5xx")
        await until(pilot, lambda: _paths(app) == ["/checkout"], what=lambda: _paths(app))
        assert "1 of 7 match 5xx" in screen_text(app)
        await pilot.press("ctrl+a", "ctrl+k", *"4xx 5xx")
        await until(pilot, lambda: _paths(app) == ["/checkout", "/missing"], what=lambda: _paths(app))
        await pilot.press("ctrl+a", "ctrl+k", *"API")  # path text, any case
        await until(pilot, lambda: _paths(app) == ["/api/keys", "/api/orders?page=2&token=[redacted]"], what=lambda: _paths(app))
        await pilot.press("enter")  # back to the list, the filter stays
        assert _paths(app)[0] == "/api/keys"
        await pilot.press("escape")
        await until(pilot, lambda: len(_paths(app)) == 7, what=lambda: _paths(app))
        assert "7 requests" in screen_text(app)

        # The same filter from the palette, from another tab.
        await pilot.press("1")
        await run_command(pilot, "Filter requests by status class and path")
        await pilot.press(*"3xx")
        await until(pilot, lambda: _paths(app) == ["/login", "/static/app.css"], what=lambda: _paths(app))


async def test_new_requests_show_live_and_the_highlight_stays_on_the_chosen_one():
    app, sup, _clock = scenes.make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await _traffic(pilot)
        await pilot.press("down")  # /checkout chosen
        await until(pilot, lambda: "/checkout" in _detail(app).split("\n")[0])
        from debugdash.protocol.requests import RequestBatch

        more = sup.requests.actions.take_batch(RequestBatch.of([scenes._record(20, 800, "GET", "/fresh", 200)], pid=4243))
        await scenes.publish(pilot, more)
        await until(pilot, lambda: _paths(app)[0] == "/fresh", what=lambda: _paths(app))
        assert "/checkout" in _detail(app).split("\n")[0]
        assert "8 requests" in screen_text(app)

        # Arriving while another tab is in view: there when the Requests tab comes back.
        await pilot.press("1")
        later = sup.requests.actions.take_batch(RequestBatch.of([scenes._record(21, 810, "DELETE", "/later", 204)], pid=4243))
        await scenes.publish(pilot, later)
        await pilot.press("6")
        await until(pilot, lambda: _paths(app)[:2] == ["/later", "/fresh"], what=lambda: _paths(app))


async def test_the_detail_shows_query_headers_bodies_and_the_traceback_never_a_secret():
    app, _sup, _clock = scenes.make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _traffic(pilot)
        # JSON, pretty-printed; the API key in a header and in the body redacted.
        detail = _detail(app)
        assert detail.startswith("#2  PUT /api/keys\n201  9.4ms  88 B  at 22:25:02  from 127.0.0.1"), detail
        assert '  "scopes": [\n    "read",\n    "write"\n  ]' in detail, detail
        assert '"api_key": "[redacted]"' in detail and "X-Api-Key: [redacted]" in detail, detail

        await _highlight(pilot, "/checkout")
        detail = _detail(app)
        assert "500  38ms  13.6 KB" in detail
        assert "Authorization: [redacted]" in detail and "Cookie: [redacted]" in detail, detail
        assert "sku = B-12\n  qty = 2\n  password = [redacted]" in detail, detail  # a form, one field a line
        assert "Traceback (most recent call last):" in detail and "KeyError: 'B-12'" in detail, detail
        assert 'File "/srv/shop/shop/views.py", line 41, in checkout' in detail

        await _highlight(pilot, "/api/orders")
        detail = _detail(app)
        assert "Query\n  page: 2\n  token: [redacted]" in detail, detail
        assert "not kept" in detail or "no longer kept" in detail  # a success: its worker holds it (none here)

        for path in ("/api/keys", "/checkout"):
            await _highlight(pilot, path)
            for secret in SECRETS:
                assert secret not in screen_text(app) and secret not in _detail(app), (path, secret)


async def test_reveal_shows_the_secrets_of_one_request_on_screen_and_copy_as_curl_follows():
    app, _sup, _clock = scenes.make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await _traffic(pilot)
        await _highlight(pilot, "/checkout")

        await pilot.press("C")
        await until(pilot, lambda: app.clipboard.startswith("curl"), what="a curl command copied")
        copied = app.clipboard
        assert "/checkout" in copied and "[redacted]" in copied and "POST" in copied, copied
        assert not any(secret in copied for secret in SECRETS), copied
        await until(pilot, lambda: any("copied as curl, secrets redacted" in toast for toast in toasts(app)), what=lambda: toasts(app))

        await run_command(pilot, "Reveal secrets of the highlighted request")
        await until(pilot, lambda: f"Bearer {scenes.SECRET_TOKEN}" in _detail(app), what=lambda: _detail(app))
        assert f"password = {scenes.SECRET_PASSWORD}" in _detail(app)
        assert "secrets shown" in screen_text(app)
        app.clipboard  # noqa: B018
        await pilot.press("C")
        await until(pilot, lambda: scenes.SECRET_TOKEN in app.clipboard, what=lambda: app.clipboard)

        # Only that request: the next one is redacted as always.
        await _highlight(pilot, "/api/keys")
        await until(pilot, lambda: "X-Api-Key: [redacted]" in _detail(app), what=lambda: _detail(app))
        assert scenes.SECRET_KEY not in screen_text(app)

        # Asked again on the revealed one, the palette hides them.
        await _highlight(pilot, "/checkout")
        assert scenes.SECRET_TOKEN in _detail(app)
        await run_command(pilot, "Reveal secrets of the highlighted request")
        await until(pilot, lambda: "Authorization: [redacted]" in _detail(app), what=lambda: _detail(app))
        assert not any(secret in screen_text(app) for secret in SECRETS)


async def test_v_switches_verify_on_reload_and_the_errors_tab_shows_the_verdict():
    app, sup, _clock = scenes.make_app()
    async with app.run_test(size=(100, 32), notifications=True) as pilot:
        await _traffic(pilot)
        assert "v verify fixes: on" in screen_text(app)
        await pilot.press("v")
        await until(pilot, lambda: "v verify fixes: off" in screen_text(app), what=lambda: screen_text(app))
        assert not sup.requests.verify_on_reload
        assert "Verify fixes on reload: off." in toasts(app)
        await run_command(pilot, "Toggle verify fixes on reload")
        await until(pilot, lambda: "v verify fixes: on" in screen_text(app), what=lambda: screen_text(app))

        await pilot.press("1")
        errors = app.query_one("#errors-table")
        await scenes.publish(pilot, scenes.verified(fixed=False))
        await until(pilot, lambda: "still failing" in rows_on_screen(errors)[1], what=lambda: rows_on_screen(errors))
        await scenes.publish(pilot, scenes.verified(fixed=True, at=790))
        await until(pilot, lambda: "fixed ✓ 22:26:30" in rows_on_screen(errors)[1], what=lambda: rows_on_screen(errors))
        assert "still failing" not in screen_text(app)


async def test_the_refused_inbox_grants_an_address_and_trusts_a_host_name_from_its_rows():
    app, sup, _clock = scenes.make_app()
    async with app.run_test(size=(100, 32), notifications=True) as pilot:
        await scenes.publish(pilot, [*scenes.started(), scenes.ready(), *scenes.refusals()])
        app.clear_notifications()
        await pilot.press("4")
        inbox = app.query_one("#refused-table")
        await until(pilot, lambda: inbox.display and len(rows_on_screen(inbox)) >= 3, what=lambda: screen_text(app))
        rows = rows_on_screen(inbox)[1:3]
        assert rows[0].split()[:5] == ["myhost.test", "debugger", "untrusted", "host", "name"], rows
        assert rows[1].split() == ["127.0.0.3", "debugger", "no", "grant", "2", "22:24:00"], rows
        assert app.focused is inbox  # no grants yet: 4 lands on the inbox

        await pilot.press("t")
        await until(pilot, lambda: "myhost.test" not in "".join(rows_on_screen(inbox)), what=lambda: rows_on_screen(inbox))
        assert "myhost.test" in sup.trusted_hosts()
        await until(pilot, lambda: any("myhost.test is trusted for this session" in toast for toast in toasts(app)), what=lambda: toasts(app))

        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, GrantScreen))
        assert app.screen.query_one("#grant-address").value == "127.0.0.3"
        await pilot.press("enter")
        await until(pilot, lambda: [entry.network for entry in sup.access_entries()] == ["127.0.0.3/32"], what=lambda: sup.access_entries())
        await until(pilot, lambda: "127.0.0.3/32" in screen_text(app), what=lambda: screen_text(app))
