"""SessionState: the dashboard's reducer over the event stream."""

from __future__ import annotations

import subprocess
import sys

from debugdash.protocol.events import (
    AttachClient,
    AttachListening,
    ExceptionInfo,
    Exited,
    Frame,
    Gate,
    LoadError,
    Ready,
    Reload,
    RequestError,
    Started,
    Stats,
    Toggles,
)
from debugdash.core.state import MAX_ERROR_GROUPS, MAX_RELOADS, SessionState


def _ready(t: float, pid: int = 10, **kw) -> Ready:
    values = {
        "url": "http://127.0.0.1:5001",
        "pid": pid,
        "host": "127.0.0.1",
        "port": 5001,
        "debug": True,
        "debugger": True,
        "pin": "123-456-789",
        "reloader": True,
        "reloader_type": "stat",
    }
    values.update(kw)
    return Ready(time=t, **values)


def _error(t: float, type_: str = "KeyError", line: int = 12, path: str = "/boom") -> RequestError:
    frames = [
        Frame("/usr/lib/python3/site-packages/flask/app.py", 900, "dispatch", is_app=False),
        Frame("/srv/app.py", line, "view", "return d['x']"),
        Frame("/usr/lib/python3.11/json/__init__.py", 40, "loads", is_app=False),
    ]
    return RequestError(
        time=t,
        method="GET",
        path=path,
        remote_addr="127.0.0.1",
        chain=[ExceptionInfo(type=type_, message="'x'", frames=frames)],
    )


def test_phase_follows_start_ready_reload_crash_and_stop():
    state = SessionState()
    assert state.phase == "starting"
    state.apply(Started(time=100.0, pid=10, command=["flask", "run"]))
    assert (state.phase, state.pid, state.started_at) == ("starting", 10, 100.0)
    state.apply(_ready(101.0))
    assert (state.phase, state.url, state.pin) == ("running", "http://127.0.0.1:5001", "123-456-789")
    state.apply(Reload(time=110.0, filename="/srv/app.py", reloader="stat"))
    assert state.phase == "reloading"
    state.apply(_ready(110.5, pid=11))
    assert (state.phase, state.pid) == ("running", 11)
    state.apply(Exited(time=120.0, pid=11, returncode=1, last_lines=["Traceback", "SyntaxError"]))
    assert state.phase == "crashed"
    assert state.last_exit.last_lines == ["Traceback", "SyntaxError"]
    assert state.uptime(130.0) is None


def test_expected_exit_is_stopped_until_the_next_start():
    state = SessionState()
    state.apply_all([Started(time=1.0, pid=10, command=[]), _ready(2.0)])
    state.apply(Exited(time=3.0, pid=10, returncode=0, expected=True))
    assert state.phase == "stopped"
    state.apply(Started(time=4.0, pid=12, command=[], reason="restart"))
    assert state.phase == "starting"
    assert state.uptime(10.0) == 6.0


def test_errors_group_by_type_and_raising_app_frame_newest_first():
    state = SessionState()
    state.apply_all(
        [
            _error(1.0, "KeyError", 12),
            _error(2.0, "ZeroDivisionError", 30),
            _error(3.0, "KeyError", 12, path="/other"),
            _error(4.0, "KeyError", 13),
        ]
    )
    groups = state.error_groups
    assert [(g.type, g.location, g.count) for g in groups] == [
        ("KeyError", "/srv/app.py:13", 1),
        ("KeyError", "/srv/app.py:12", 2),
        ("ZeroDivisionError", "/srv/app.py:30", 1),
    ]
    repeated = groups[1]
    assert (repeated.first_seen, repeated.last_seen, repeated.latest.path) == (1.0, 3.0, "/other")
    assert state.error_count == 4


def test_error_groups_are_bounded_and_drop_the_stalest():
    state = SessionState()
    for n in range(MAX_ERROR_GROUPS + 5):
        state.apply(_error(float(n), "E", n))
    groups = state.error_groups
    assert len(groups) == MAX_ERROR_GROUPS
    assert groups[0].key == ("E", "/srv/app.py", MAX_ERROR_GROUPS + 4)
    assert state.error_group(("E", "/srv/app.py", 0)) is None


def test_error_without_frames_or_chain_still_groups():
    state = SessionState()
    state.apply(RequestError(time=1.0, method="GET", path="/", remote_addr="", chain=[]))
    state.apply(
        RequestError(time=2.0, method="GET", path="/", remote_addr="", chain=[ExceptionInfo("OSError", "x")])
    )
    assert [g.type for g in state.error_groups] == ["OSError", "(unknown exception)"]
    assert state.error_groups[0].location == ""


def test_reload_records_time_to_ready_and_a_following_load_error():
    state = SessionState()
    state.apply_all([Started(time=1.0, pid=1, command=[]), _ready(2.0)])
    state.apply(Reload(time=10.0, filename="/srv/app.py", reloader="stat"))
    state.apply(_ready(11.25))
    state.apply(Reload(time=20.0, filename="/srv/models.py", reloader="stat"))
    broken = LoadError(time=20.5, message="SyntaxError: invalid syntax", filename="/srv/models.py", lineno=3)
    state.apply(broken)
    first, second = state.reloads
    assert (first.filename, first.ready_after, first.load_error) == ("/srv/app.py", 1.25, None)
    assert second.load_error is broken
    assert state.load_error is broken
    # The server keeps serving the error page: the phase is not "crashed".
    assert state.phase == "running"
    state.apply(Reload(time=30.0, filename="/srv/models.py", reloader="stat"))
    assert state.load_error is None


def test_reloads_are_bounded():
    state = SessionState()
    for n in range(MAX_RELOADS + 3):
        state.apply(Reload(time=float(n), filename=f"f{n}.py", reloader="stat"))
    assert len(state.reloads) == MAX_RELOADS
    assert state.reloads[-1].filename == f"f{MAX_RELOADS + 2}.py"


def test_toggles_gate_and_stats_keep_the_latest():
    state = SessionState()
    state.apply(Toggles(debug=True, debugger=True, reloader=True, attach=False))
    state.apply(Toggles(debug=True, debugger=False, reloader=True, attach=False))
    state.apply(Gate(debugger=False))
    state.apply(Stats(pids=[1, 2], cpu_percent=3.5, rss=50_000_000, threads=4))
    assert state.toggles.debugger is False
    assert state.gate_open is False
    assert (state.stats.cpu_percent, state.stats.threads) == (3.5, 4)


def test_attach_listening_and_client():
    state = SessionState()
    state.apply(AttachListening(host="127.0.0.1", port=5678))
    state.apply(AttachClient(time=50.0, state="connected", peer="127.0.0.2"))
    assert (state.attach.port, state.attach.client, state.attach.client_since) == (5678, "127.0.0.2", 50.0)
    state.apply(AttachClient(state="refused", peer="127.0.0.3"))
    assert state.attach.client == "127.0.0.2"
    state.apply(AttachClient(state="disconnected", peer="127.0.0.2"))
    assert state.attach.client is None
    state.apply(AttachClient(state="connected", peer="127.0.0.2"))
    state.apply(AttachListening(host="127.0.0.1", port=5678, listening=False))
    assert (state.attach.listening, state.attach.port, state.attach.client) == (False, None, None)


def test_state_module_does_not_import_textual():
    code = "import sys, debugdash.core.state; assert 'textual' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_uptime_is_the_serving_workers_even_under_the_apps_own_reloader() -> None:
    from debugdash.protocol.events import Ready, Started

    def ready(pid: int, at: float) -> Ready:
        return Ready(time=at, url="http://127.0.0.1:6001", pid=pid, host="127.0.0.1", port=6001,
                     debug=True, debugger=True, pin=None, reloader=True, reloader_type="stat")

    state = SessionState()
    state.apply(Started(time=100.0, pid=10, command=["python"], reason="start"))
    state.apply(ready(10, 101.0))
    assert state.uptime(150.0) == 50.0, "debugdash started the server that serves"

    script = SessionState()
    script.apply(Started(time=100.0, pid=10, command=["python"], reason="start"))
    script.apply(ready(11, 102.0))  # a script's own reloader parent started worker 11
    assert script.uptime(150.0) == 48.0
    script.apply(ready(12, 140.0))  # a save: the parent starts worker 12
    assert script.uptime(150.0) == 10.0


def _repeat(t: float, count: int, pid: int = 10, message: str = "", type_: str = "KeyError", line: int = 12):
    from debugdash.protocol.events import RequestErrorRepeat

    return RequestErrorRepeat(
        time=t, type=type_, filename="/srv/app.py", lineno=line, count=count,
        method="GET", path="/boom", remote_addr="127.0.0.1", message=message, pid=pid,
    )


def _counted(t: float, count: int, pid: int = 10, message: str = "'x'") -> RequestError:
    event = _error(t)
    event.pid, event.count = pid, count
    event.chain[-1].message = message
    return event


def test_repeats_count_exactly_and_a_late_whole_capture_adds_none_but_is_shown():
    state = SessionState()
    # As an agent sends a burst: whole, folded repeats (running counts), the newest whole again.
    state.apply_all([_counted(1.0, 1), _repeat(1.01, 2), _repeat(1.1, 7, message="'y'"), _repeat(1.2, 9)])
    (group,) = state.error_groups
    assert (group.count, state.error_count, group.last_seen) == (9, 9, 1.2)
    assert group.message == "'y'" and group.latest.count == 1
    state.apply(_counted(1.25, 9, message="'z'"))  # occurrence 9, sent whole once its group's 250 ms passed
    assert (group.count, state.error_count) == (9, 9)
    assert group.latest.count == 9 and group.latest.exception.message == "'z'" and group.message == ""


def test_a_dropped_event_loses_no_count_and_each_worker_counts_on_its_own():
    state = SessionState()
    # Events 2..5 of pid 10 never arrived (the agent's queue was full): the running count covers them.
    state.apply_all([_counted(1.0, 1), _repeat(1.5, 6), _counted(2.0, 1, pid=11), _repeat(2.1, 3, pid=11)])
    assert state.error_groups[0].count == 9 and state.error_count == 9
    # A sender that does not count (an older agent): one event, one occurrence.
    state.apply(_error(3.0))
    assert state.error_groups[0].count == 10


def test_repeats_of_a_cleared_group_count_from_its_next_whole_capture():
    state = SessionState()
    state.apply_all([_counted(1.0, 1), _repeat(1.1, 4)])
    state.clear_errors()
    state.apply_all([_repeat(1.2, 6), _repeat(1.3, 8)])
    assert state.error_groups == []
    state.apply(_counted(1.4, 8))
    assert state.error_groups[0].count == 4  # occurrences 5..8, those after the user cleared it
def test_the_debug_session_paused_and_a_held_reload_until_the_reload() -> None:
    from debugdash.protocol.session_events import DebugPaused, ReloadHeld

    state = SessionState()
    state.apply(DebugPaused(paused=True, thread_id=3, filename="/app/views.py", line=42, function="total"))
    state.apply(ReloadHeld(filename="/app/views.py", pid=10))
    assert state.attach.paused is not None and state.attach.paused.line == 42
    assert state.attach.reload_pending == "/app/views.py"
    state.apply(DebugPaused(paused=False))
    assert state.attach.paused is None and state.attach.reload_pending == "/app/views.py"
    state.apply(Reload(filename="/app/views.py", reloader="debugdash-stat"))
    assert state.attach.reload_pending is None
