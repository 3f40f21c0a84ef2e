"""ErrorGroups: which occurrences of a failing request go out whole, and when (an injected clock)."""

from __future__ import annotations

from debugdash.agent.error_groups import ErrorGroups, Occurrence
from debugdash.agent.request_errors import capture
from debugdash.core.state import SessionState
from debugdash.protocol.events import RequestError, RequestErrorRepeat


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


STATE = {"phase": "idle"}


def _view(n: int) -> None:
    state = STATE
    state["phase"] = f"failing {n}"
    raise KeyError(f"k{n}")


def _other_view(n: int) -> None:
    raise ValueError(n)


def _occurrence(n: int, view=_view) -> Occurrence:
    """A real exception, captured as the agent captures a failing request's."""
    try:
        view(n)
    except Exception as e:
        occurrence = capture({"REQUEST_METHOD": "GET", "PATH_INFO": f"/item/{n}", "REMOTE_ADDR": "127.0.0.1"}, e)
    STATE["phase"] = f"done {n}"  # after the failure: the report must not show this
    return occurrence


def _raised_locals(event: RequestError) -> dict[str, str]:
    return event.exception.raised_at.locals


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
    assert [e.count for e in whole] == [1]
    assert _raised_locals(whole[0]) == {"n": "1", "state": "{'phase': 'failing 1'}"}
    # One repeat at once (occurrence 2); 3..5 came within 0.1 s of it: folded into a later one.
    assert [(r.count, r.path, r.message) for r in repeats] == [(2, "/item/2", "'k2'")]
    raised_at = whole[0].exception.raised_at
    assert repeats[0].key == ("KeyError", raised_at.filename, raised_at.lineno) and raised_at.function == "_view"


def test_after_a_burst_the_newest_occurrence_goes_whole_with_its_locals_and_the_count_is_exact():
    sent: list = []
    groups, clock = _groups(sent)
    occurrences = [_occurrence(n) for n in range(1, 10_001)]
    for occurrence in occurrences:
        groups.occurred(occurrence)
        clock.now += 0.0001  # a burst: 10,000 failures in one second
    assert groups.flush_due() is not None  # the newest is kept; its group's 250 ms have not passed
    clock.now += 0.25
    assert groups.flush_due() is None
    newest = sent[-1]
    assert isinstance(newest, RequestError) and newest.count == 10_000
    # Sent after later requests changed the dict it held: its values as they were when it failed.
    assert newest.path == "/item/10000" and _raised_locals(newest) == {"n": "10000", "state": "{'phase': 'failing 10000'}"}
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
    groups.occurred(_occurrence(2, view=_other_view))
    clock.now += 0.3
    groups.occurred(_occurrence(3))
    assert [(type(e).__name__, e.count) for e in sent] == [("RequestError", 1), ("RequestError", 1), ("RequestError", 2)]


def _raise_chained() -> None:
    try:
        int("x")
    except ValueError as e:
        raise RuntimeError("not a number") from e


def _raise_syntax() -> None:
    compile("total = (1 +\n", "/srv/app/broken.py", "exec")


def _raise_in_library() -> None:
    import json

    json.loads("{")


def _raise_group() -> None:
    raise ExceptionGroup("two", [KeyError("a"), ValueError("b")])


def test_the_agents_group_is_the_dashboards_for_every_kind_of_failure():
    for raiser in (_raise_chained, _raise_syntax, _raise_in_library, _raise_group):
        try:
            raiser()
        except Exception as e:
            occurrence = capture({"PATH_INFO": "/x"}, e)
        state = SessionState()
        state.apply(occurrence.event(1))
        assert occurrence.key() == state.error_groups[0].key, raiser.__name__


def test_on_request_the_kept_newest_occurrence_goes_whole_at_once():
    sent: list = []
    groups, clock = _groups(sent)
    for n in range(1, 51):
        groups.occurred(_occurrence(n))
    key = sent[0].exception.raised_at
    assert groups.send_newest(("KeyError", key.filename, key.lineno)) == (True, 50)
    assert isinstance(sent[-1], RequestError) and sent[-1].count == 50 and sent[-1].path == "/item/50"
    assert _raised_locals(sent[-1])["state"] == "{'phase': 'failing 50'}"
    # Nothing left to send, for this group or an unknown one.
    assert groups.send_newest(("KeyError", key.filename, key.lineno)) == (False, 50)
    assert groups.send_newest(("KeyError", "/elsewhere.py", 1)) == (False, 0)
    assert groups.flush_due() is None
