"""Fixed sessions for snapshot tests: a real (unstarted) Supervisor, a frozen
clock, and events replayed through ``Supervisor.publish`` exactly as a running
server would send them. Only the psutil figures (``Stats``) are made up here."""

from __future__ import annotations

import time
from pathlib import Path

from textual.pilot import Pilot

from debugdash.protocol.clock import ManualClock
from debugdash.protocol.events import (
    AttachClient,
    AttachListening,
    ExceptionInfo,
    Exited,
    Frame,
    Ready,
    Reload,
    RequestError,
    Started,
    Stats,
    Toggles,
)
from debugdash.protocol.session_events import DebugPaused, ReloadHeld
from debugdash.protocol.events import AccessRefused
from debugdash.protocol.request_events import RequestRecord
from debugdash.protocol.requests import CapturedRequest, RequestBatch
from debugdash.core.settings import Settings
from debugdash.core.supervisor import Supervisor
from debugdash.tui.app import DashboardApp

#: 2023-11-14 22:13:20 UTC; every event time is an offset from this.
T0 = 1_700_000_000.0
ROOT = Path("/srv/shop")
_FLASK = "/srv/shop/.venv/lib/python3.11/site-packages/flask/app.py"


def make_app() -> tuple[DashboardApp, Supervisor, ManualClock]:
    clock = ManualClock(1000.0)
    settings = Settings.for_tests(app="shop", port=5000, cwd=ROOT)
    supervisor = Supervisor(settings, clock=clock)
    app = DashboardApp(supervisor, start=False, wall_clock=lambda: T0 + 754)
    return app, supervisor, clock


def started() -> list:
    return [
        Toggles(time=T0, debug=True, debugger=True, reloader=True, attach=False),
        Started(time=T0, pid=4242, command=["python", "-m", "debugdash.agent", "flask", "run"]),
    ]


def ready(at: float = 1.2, pid: int = 4243) -> Ready:
    return Ready(
        time=T0 + at,
        url="http://127.0.0.1:5000",
        pid=pid,
        host="127.0.0.1",
        port=5000,
        debug=True,
        debugger=True,
        pin="493-102-877",
        reloader=True,
        reloader_type="stat",
    )


def stats() -> Stats:
    return Stats(time=T0 + 750, pids=[4242, 4243], cpu_percent=2.5, rss=48_234_496, threads=3, ports=[5000])


def _flask_frames() -> list[Frame]:
    return [
        Frame(_FLASK, 1511, "wsgi_app", "response = self.full_dispatch_request()", {"self": "<Flask 'shop'>"}, False),
        Frame(_FLASK, 902, "dispatch_request", "return self.ensure_sync(view)(**req.view_args)", {}, False),
    ]


def key_error(at: float) -> RequestError:
    frames = [
        *_flask_frames(),
        Frame(
            "/srv/shop/shop/views.py",
            41,
            "checkout",
            'total = prices[item["sku"]] * item["qty"]',
            {"item": "{'sku': 'B-12', 'qty': 2}", "prices": "{'A-7': 9.5}"},
        ),
    ]
    chain = [ExceptionInfo(type="KeyError", message="'B-12'", frames=frames)]
    return RequestError(time=T0 + at, method="POST", path="/checkout", remote_addr="127.0.0.1", chain=chain, pid=4243)


def chained_error(at: float) -> RequestError:
    inner = ExceptionInfo(
        type="ValueError",
        message="invalid literal for int() with base 10: 'eighty'",
        frames=[Frame("/srv/shop/shop/config.py", 12, "port", 'return int(raw["port"])', {"raw": "{'port': 'eighty'}"})],
    )
    outer = ExceptionInfo(
        type="RuntimeError",
        message="the configured port is not a number",
        frames=[
            *_flask_frames(),
            Frame("/srv/shop/shop/views.py", 77, "status", "port = config.port()", {}),
            Frame("/srv/shop/shop/config.py", 14, "port", 'raise RuntimeError("the configured port is not a number") from e', {"e": "ValueError(...)"}),
        ],
        relation="cause",
    )
    return RequestError(time=T0 + at, method="GET", path="/status", remote_addr="127.0.0.1", chain=[inner, outer], pid=4243)


def running_with_errors() -> list:
    return [
        *started(),
        ready(),
        key_error(300),
        Reload(time=T0 + 420, filename="/srv/shop/shop/views.py", reloader="stat", pid=4243),
        ready(421.4, pid=4244),
        chained_error(600),
        key_error(700),
        stats(),
    ]


def crashed() -> list:
    return [
        *started(),
        ready(),
        Exited(
            time=T0 + 640,
            pid=4242,
            returncode=1,
            last_lines=[
                '  File "/srv/shop/shop/__init__.py", line 3, in <module>',
                "    from shop.views import bp",
                '  File "/srv/shop/shop/views.py", line 9',
                "    def checkout(:",
                "                 ^",
                "SyntaxError: invalid syntax",
            ],
        ),
    ]


def attached() -> list:
    return [
        Toggles(time=T0, debug=True, debugger=False, reloader=True, attach=True),
        Started(time=T0, pid=4242, command=["python", "-m", "debugdash.agent", "flask", "run"]),
        ready(),
        AttachListening(time=T0 + 2, host="127.0.0.1", port=5678),
        AttachClient(time=T0 + 600, state="connected", peer="127.0.0.1:53012"),
    ]


def paused_with_a_save_waiting() -> list:
    """The attached IDE stopped at a breakpoint in a view, and a save of that file held."""
    return [
        *attached(),
        DebugPaused(
            time=T0 + 700, paused=True, thread_id=7, thread="Thread-3 (process_request_thread)",
            filename=str(ROOT / "shop" / "views.py"), line=42, function="total", reason="breakpoint",
        ),
        ReloadHeld(time=T0 + 710, filename=str(ROOT / "shop" / "views.py"), pid=4243),
    ]


async def publish(pilot: Pilot, events: list) -> None:
    """Replay events, then let the dashboard draw them."""
    app = pilot.app
    assert isinstance(app, DashboardApp)
    app.sup.publish(events)
    await pilot.pause()
    # Drawing is scheduled on a timer (at most one render per interval); on a busy
    # machine a fixed pause was sometimes not long enough to see it happen.
    deadline = time.monotonic() + 20
    while (app._dirty or app._render_timer is not None) and time.monotonic() < deadline:
        await pilot.pause(0.02)
    await pilot.pause(0.05)


# --- requests -------------------------------------------------------------------

SECRET_TOKEN = "abc123-bearer-secret"
SECRET_PASSWORD = "hunter2-password"
SECRET_KEY = "sk-live-4242-apikey"


def _captured(number: int, method: str, target: str, headers: list[list[str]], body: str = "") -> CapturedRequest:
    import base64

    return CapturedRequest(
        id=number, method=method, target=target, headers=headers,
        body64=base64.b64encode(body.encode()).decode() if body else "", remote_addr="127.0.0.1",
    )


def _record(number: int, at: float, method: str, path: str, status: int, *, query: str = "", error: bool = False,
            replay: str = "", duration: float = 0.004, size: int = 512, remote_addr: str = "127.0.0.1") -> RequestRecord:
    return RequestRecord(time=T0 + at, id=number, method=method, path=path, query=query, status=status,
                         duration=duration, size=size, remote_addr=remote_addr, pid=4243, error=error, replay=replay)


def request_traffic(supervisor: Supervisor) -> list:
    """A session's requests, as the agent hands them over: records, the failed
    ones in full (with secrets to redact), and the traceback one of them raised."""
    checkout = key_error(700)
    checkout.request_id = 6
    supervisor.requests.actions.take_event(checkout)
    batch = RequestBatch.of(
        pid=4243,
        records=[
            _record(1, 690, "GET", "/", 200, size=3_481),
            _record(2, 691.5, "GET", "/static/app.css", 304, size=0, duration=0.0012),
            # The agent redacts secret query values before the record leaves the server.
            _record(3, 693, "GET", "/api/orders", 200, query="page=2&token=%5Bredacted%5D", duration=0.0213, size=18_210),
            _record(4, 695, "POST", "/login", 302, size=219, remote_addr="127.0.0.2"),
            _record(5, 697, "GET", "/missing", 404, size=207),
            _record(6, 700, "POST", "/checkout", 500, error=True, duration=0.0381, size=13_902),
            _record(7, 702, "PUT", "/api/keys", 201, duration=0.0094, size=88),
        ],
        captured=[
            _captured(6, "POST", "/checkout", [
                ["Host", "127.0.0.1:5000"], ["Authorization", "Bearer " + SECRET_TOKEN],
                ["Cookie", "session=" + SECRET_PASSWORD], ["Content-Type", "application/x-www-form-urlencoded"],
            ], "sku=B-12&qty=2&password=" + SECRET_PASSWORD),
            _captured(7, "PUT", "/api/keys", [
                ["Host", "127.0.0.1:5000"], ["Content-Type", "application/json"], ["X-Api-Key", SECRET_KEY],
            ], '{"name": "deploy", "api_key": "' + SECRET_KEY + '", "scopes": ["read", "write"]}'),
        ],
    )
    return [checkout, *supervisor.requests.actions.take_batch(batch)]


def refusals() -> list:
    return [
        AccessRefused(time=T0 + 600, address="127.0.0.3", what="debugger", detail="/console"),
        AccessRefused(time=T0 + 640, address="127.0.0.3", what="debugger", detail="/console"),
        AccessRefused(time=T0 + 650, address="127.0.0.1", what="debugger", detail="/console", host="myhost.test"),
    ]


def verified(fixed: bool, at: float = 760) -> list:
    """The /checkout KeyError group replayed after a reload: fixed, or still failing."""
    from debugdash.protocol.request_events import Verified

    return [Verified(time=T0 + at, error_type="KeyError", filename="/srv/shop/shop/views.py", lineno=41,
                     request_id=1, replay_id=99, fixed=fixed, status=200 if fixed else 500)]
