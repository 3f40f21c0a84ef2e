"""ErrorGroups: which occurrences of a failing request go out whole, and when (an injected clock)."""

from __future__ import annotations

from debugdash.agent.error_groups import ErrorGroups
from debugdash.core.state import SessionState
from debugdash.protocol.events import ExceptionInfo, Frame, RequestError, RequestErrorRepeat


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _occurrence(n: int, type_: str = "KeyError", line: int = 12) -> RequestError:
    frames = [
        Frame("/venv/site-packages/flask/app.py", 900, "dispatch", is_app=False),
        Frame("/srv/app.py", line, "view", "return d[k]", locals={"n": repr(n)}),
    ]
    return RequestError(time=float(n), method="GET", path=f"/item/{n}", remote_addr="127.0.0.1",
                        chain=[ExceptionInfo(type=type_, message=f"'k{n}'", frames=frames)], pid=7)


def _groups(sent: list) -> tuple[ErrorGroups, Clock]:
    clock = Clock()
    return ErrorGroups(sent.append, interval=0.25, repeat_interval=0.1, clock=clock, timer=False), clock


def test_a_groups_first_occurrence_goes_whole_and_repeats_are_small_and_folded():
    sent: list = []
    groups, clock = _groups(sent)
    for n in range(1, 6):
        groups.occurred(_occurrence(n))
        clock.now += 0.01
    whole = [e for e in sent if isinstance(e, RequestError)]
    repeats = [e for e in sent if isinstance(e, RequestErrorRepeat)]
    assert [e.count for e in whole] == [1] and whole[0].exception.frames[-1].locals == {"n": "1"}
    # One repeat at once (occurrence 2); 3..5 came within 0.1 s of it: folded into a later one.
    assert [(r.count, r.path, r.message) for r in repeats] == [(2, "/item/2", "'k2'")]
    assert repeats[0].key == ("KeyError", "/srv/app.py", 12)


def test_after_a_burst_the_newest_occurrence_goes_whole_with_its_locals_and_the_count_is_exact():
    sent: list = []
    groups, clock = _groups(sent)
    for n in range(1, 10_001):
        groups.occurred(_occurrence(n))
        clock.now += 0.0001  # a burst: 10,000 failures in one second
    assert groups.flush_due() is not None  # the newest is kept; its group's 250 ms have not passed
    clock.now += 0.25
    assert groups.flush_due() is None
    newest = sent[-1]
    assert isinstance(newest, RequestError) and newest.count == 10_000
    assert newest.path == "/item/10000" and newest.exception.frames[-1].locals == {"n": "10000"}
    # Whole captures at most every 250 ms, repeats at most every 100 ms: a few dozen events, not 10,000.
    assert len([e for e in sent if isinstance(e, RequestError)]) <= 6
    assert len(sent) <= 20
    state = SessionState()
    state.apply_all(sent)
    assert state.error_groups[0].count == 10_000 and state.error_count == 10_000


def test_a_folded_repeat_goes_out_once_its_interval_passed():
    sent: list = []
    groups, clock = _groups(sent)
    for n in (1, 2, 3):
        groups.occurred(_occurrence(n))
    assert [getattr(e, "count", None) for e in sent] == [1, 2]
    clock.now += 0.1
    assert 0 < groups.flush_due() <= 0.15  # the whole capture of occurrence 3 is still to come
    assert isinstance(sent[-1], RequestErrorRepeat) and sent[-1].count == 3


def test_groups_are_separate_and_a_quiet_group_is_captured_whole_again():
    sent: list = []
    groups, clock = _groups(sent)
    groups.occurred(_occurrence(1))
    groups.occurred(_occurrence(2, type_="ValueError"))
    clock.now += 0.3
    groups.occurred(_occurrence(3))
    assert [(type(e).__name__, e.count) for e in sent] == [("RequestError", 1), ("RequestError", 1), ("RequestError", 2)]
