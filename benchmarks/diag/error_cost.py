"""What one request error costs, piece by piece (diagnosis, not a benchmark).

    python benchmarks/diag/error_cost.py [PATCH...]

In this process, with Flask's test client on the benchmark app in debug mode
(as `flask run --debug --no-debugger` serves it): the request alone, then
with the agent's ErrorReporter connected, then each later step on the event —
encoding it for the wire (the agent's writer thread, same GIL as the
requests), decoding it in the supervisor, printing it headless.
"""

from __future__ import annotations

import cProfile
import io
import logging
import pstats
import sys
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[2])
sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "apps"))

from benchmarks.diag import patches  # noqa: E402

N = 400


def per_call(fn, n: int = N) -> float:
    fn()
    t0 = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - t0) / n


def main() -> None:
    patches.apply(sys.argv[1:])
    from flask.signals import got_request_exception

    from bench_app import app
    from debugdash.agent.request_errors import ErrorReporter
    from debugdash.core import wire
    from debugdash.headless import describe

    app.debug = True
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the 500 comes back instead of raising in the test client
    logging.getLogger("bench_app").disabled = True
    app.logger.disabled = True
    client = app.test_client()

    def request() -> None:
        assert client.get("/boom/1").status_code == 500

    base = per_call(request)
    events = []
    reporter = ErrorReporter(events.append)
    got_request_exception.connect(reporter.on_flask_exception, weak=False)
    captured = per_call(request)
    event = events[-1]
    encoded = wire.encode(event)
    encode = per_call(lambda: wire.encode(event))
    decode = per_call(lambda: wire.decode(encoded))
    text = per_call(lambda: describe(event))
    frames = sum(len(e.frames) for e in event.chain)
    with_locals = sum(1 for e in event.chain for f in e.frames if f.locals)
    print(f"patches: {', '.join(patches.applied) or 'none'}")
    print(f"request that raises (Flask's 500, no capture): {1e3 * base:.3f} ms")
    print(f"  + capture (exception_chain, {frames} frames, {with_locals} with locals): {1e3 * (captured - base):.3f} ms")
    print(f"  + wire.encode ({len(encoded)} bytes), agent writer thread: {1e3 * encode:.3f} ms")
    print(f"supervisor: wire.decode: {1e3 * decode:.3f} ms; headless describe: {1e3 * text:.3f} ms")
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for _ in range(N):
        request()
        wire.encode(events[-1])
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(18)
    print(out.getvalue())


if __name__ == "__main__":
    main()
