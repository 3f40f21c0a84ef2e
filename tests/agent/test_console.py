"""The console's parts alone (issue 13): the bounded store of live frames, and a console
over one of them — values, statements, print(), tracebacks, completion, interrupts.

In one process, with real exceptions raised by real functions; the server around
them is tested in ``tests/e2e/test_console.py``.
"""

from __future__ import annotations

import sys
import threading
import time

import pytest

from debugdash.agent.console import Console, ConsoleBusy
from debugdash.agent.evaluation import Evaluations
from debugdash.agent.frames import FrameStore, FramesGone
from debugdash.agent.request_errors import ErrorReporter


def checkout(order: dict) -> None:
    total = order["total"]
    shipping = lookup_shipping(order)
    raise AssertionError(total + shipping)


def lookup_shipping(order: dict) -> int:
    zone = order.get("zone", "eu")
    raise KeyError(zone)


def fail(store: FrameStore, total: int = 42) -> str:
    try:
        checkout({"total": total, "zone": "mars"})
    except KeyError as e:
        return store.keep(e)
    raise AssertionError("checkout did not fail")


def test_the_newest_occurrences_keep_their_frames_up_to_the_bound() -> None:
    store = FrameStore(limit=20)
    occurrences = [fail(store, total) for total in range(25)]
    assert store.held() == occurrences[5:]
    with pytest.raises(FramesGone, match="only the newest 20 failing requests keep their frames"):
        store.frame(occurrences[0])
    _, _, live = store.frame(occurrences[-1])
    assert live.frame.f_locals["order"]["total"] == 24


def test_the_default_frame_is_the_innermost_of_the_app_and_numbers_pick_outer_ones() -> None:
    evaluations = Evaluations(FrameStore())
    occurrence = fail(evaluations.store)
    place, outcome = evaluations.evaluate(occurrence, "zone")
    assert (place.function, outcome.value) == ("lookup_shipping", "'mars'")
    outer = place.frame - 1
    place, outcome = evaluations.evaluate(occurrence, "total", frame=outer)
    assert (place.function, outcome.value) == ("checkout", "42")
    with pytest.raises(FramesGone, match="pick one of those with --frame"):
        evaluations.evaluate(occurrence, "1", frame=99)


def test_state_is_kept_per_console_and_statements_show_no_value() -> None:
    evaluations = Evaluations(FrameStore())
    occurrence = fail(evaluations.store)
    _, first = evaluations.evaluate(occurrence, "x = order['total']")
    _, second = evaluations.evaluate(occurrence, "x * 2")
    assert (first.value, second.value) == ("", "84")
    _, other = evaluations.evaluate(occurrence, "'x' in dir()", frame=0)
    assert other.value == "False"  # another frame, another console


def test_print_goes_to_the_evaluation_and_not_to_the_servers_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    console = Console(_frame_of_new_failure())
    outcome = console.run("for i in range(3):\n    print('line', i)\nprint('to stderr', file=sys.stderr)")
    assert outcome.output == "line 0\nline 1\nline 2\n"
    captured = capsys.readouterr()
    assert captured.out == "" and "to stderr" in captured.err


def test_an_expression_that_raises_gives_its_own_traceback() -> None:
    console = Console(_frame_of_new_failure())
    outcome = console.run("order['missing']")
    assert outcome.raised and outcome.value == ""
    assert outcome.traceback.startswith("Traceback (most recent call last):\n  File \"<console ")
    assert "order['missing']" in outcome.traceback and outcome.traceback.rstrip().endswith("KeyError: 'missing'")
    assert "agent/console.py" not in outcome.traceback  # the console's machinery is not the user's story
    syntax = console.run("def f(:")
    assert syntax.raised and "SyntaxError" in syntax.traceback
    exiting = console.run("raise SystemExit(3)")
    assert exiting.raised and "SystemExit: 3" in exiting.traceback


def test_a_raising_repr_is_shown_as_such() -> None:
    console = Console(_frame_of_new_failure())
    outcome = console.run("class Broken:\n    def __repr__(self):\n        raise ValueError('no repr')\nBroken()")
    assert not outcome.raised
    assert outcome.value == "<repr of Broken raised ValueError: no repr>"


def test_completion_prefers_the_frames_names_to_builtins() -> None:
    console = Console(_frame_of_new_failure())
    assert console.complete("ord") == ["order"]
    assert console.complete("x = order.ke") == ["order.keys"]
    assert console.complete("isinst") == ["isinstance"]
    assert "order.__class__" not in console.complete("order.")
    assert console.complete("1 + ") == []


def test_a_runaway_evaluation_is_interrupted_from_another_thread() -> None:
    console = Console(_frame_of_new_failure())
    outcomes = []
    # A daemon: if the interrupt is broken, the loop must not keep pytest from exiting.
    worker = threading.Thread(target=lambda: outcomes.append(console.run("n = 0\nwhile True:\n    n += 1")), daemon=True)
    worker.start()
    _wait(lambda: console.running and console.interrupt())
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert outcomes[0].raised and outcomes[0].traceback.rstrip().endswith("KeyboardInterrupt")
    assert console.run("n > 0").value == "True"  # the console lives on, with what the loop did
    assert not console.interrupt()  # nothing runs: nothing to interrupt


def test_one_evaluation_at_a_time_per_console() -> None:
    console = Console(_frame_of_new_failure())
    worker = threading.Thread(target=console.run, args=("while True: pass",), daemon=True)
    worker.start()
    _wait(lambda: console.running)
    with pytest.raises(ConsoleBusy, match="Ctrl-C interrupts it"):
        console.run("1")
    _wait(console.interrupt)
    worker.join(timeout=30)


def test_a_timeout_stops_the_evaluation_and_says_so() -> None:
    console = Console(_frame_of_new_failure())
    outcome = console.run("while True: pass", timeout=0.2)
    assert outcome.raised and "stopped after 0.2 s" in outcome.traceback


def test_releasing_a_group_drops_its_frames_and_consoles() -> None:
    evaluations = Evaluations(FrameStore())
    kept = fail(evaluations.store)
    try:
        1 / 0
    except ZeroDivisionError as e:
        other = evaluations.store.keep(e)
    evaluations.evaluate(kept, "y = 1")
    key = ("KeyError", __file__, lookup_shipping.__code__.co_firstlineno + 2)
    assert evaluations.store.release_groups({key}) == [kept]
    assert evaluations.store.held() == [other]
    with pytest.raises(FramesGone, match="the error group was cleared"):
        evaluations.evaluate(kept, "y")
    evaluations.store.release_all()
    assert evaluations.store.held() == []


def test_no_frames_are_kept_when_the_bound_is_zero() -> None:
    store = FrameStore(limit=0)
    occurrence = fail(store)
    assert store.held() == []
    with pytest.raises(FramesGone, match="keep_frames = 0"):
        store.frame(occurrence)


def test_the_reporter_names_each_occurrence_it_keeps() -> None:
    store = FrameStore()
    events = []
    reporter = ErrorReporter(events.append, store.keep)
    for _ in range(2):
        try:
            checkout({"total": 1})
        except KeyError as e:
            reporter.report({"REQUEST_METHOD": "GET", "PATH_INFO": "/checkout"}, e)
    assert [e.occurrence for e in events] == store.held()
    assert len(set(store.held())) == 2


def _frame_of_new_failure():
    store = FrameStore()
    return store.frame(fail(store))[2]


def _wait(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.01)
