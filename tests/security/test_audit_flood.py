"""An ungranted peer cannot grow the audit log without bound: 1000 real refused
requests become a couple of lines that still say how many, on the supervisor's
injected clock; and past its size the file is rotated, one previous file kept."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from pathlib import Path

from debugdash.core.audit import AuditLog
from debugdash.protocol.clock import ManualClock
from debugdash.protocol.events import AccessRefused, Event, Ready
from debugdash.core.settings import Settings
from debugdash.core.supervisor import Supervisor
from tests.support import SIMPLE_APP, free_port, http, wait_for_async, write_app

FLOOD = 1000


def _flood(port: int, source: str, count: int) -> None:
    for n in range(count):
        http(port, f"/probe{n}?__debugger__=yes", source=source)


def _lines(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text().splitlines()] if path.exists() else []


async def test_a_thousand_refused_requests_cost_two_lines_that_say_how_many(tmp_path: Path) -> None:
    write_app(tmp_path, SIMPLE_APP)
    clock = ManualClock()
    settings = Settings.for_tests(app="app", port=free_port(), cwd=tmp_path, python=sys.executable, reload=False)
    supervisor = Supervisor(settings, clock=clock)
    audit = supervisor.audit.path
    seen: list[Event] = []
    supervisor.subscribe(seen.extend)
    refused = lambda: sum(isinstance(e, AccessRefused) for e in seen)  # noqa: E731
    try:
        await supervisor.start()
        await wait_for_async(lambda: any(isinstance(e, Ready) for e in seen), timeout=60, what="ready")

        await asyncio.to_thread(_flood, settings.port, "127.0.0.2", FLOOD)
        await asyncio.to_thread(_flood, settings.port, "127.0.0.3", 3)
        await wait_for_async(lambda: refused() == FLOOD + 3, timeout=60, what="every refusal reported")
        # Within the minute: the first refusal of each address, written at once.
        assert [(r[2], r[3], r[5]) for r in _lines(audit)] == [
            ("refuse", "127.0.0.2", "/probe0"),
            ("refuse", "127.0.0.3", "/probe0"),
        ]

        clock.advance(61)  # the minute ends: the counts are written without a further refusal
        await wait_for_async(lambda: len(_lines(audit)) == 4, timeout=60, what="the counts")
        counts = {r[3]: r[5] for r in _lines(audit)[2:]}
        assert counts["127.0.0.2"].startswith(f"repeated {FLOOD - 1} more times since ")
        assert counts["127.0.0.2"].endswith(f"last: /probe{FLOOD - 1}")
        assert counts["127.0.0.3"].startswith("repeated 2 more times")
        assert audit.stat().st_size < 1000, "a thousand refusals must not cost a thousand lines"

        # A new minute: the first refusal shows at once again; the rest are counted on stop.
        await asyncio.to_thread(_flood, settings.port, "127.0.0.2", 10)
        await wait_for_async(lambda: refused() == FLOOD + 13, timeout=60, what="the second flood reported")
        assert len(_lines(audit)) == 5
    finally:
        await supervisor.stop()
    last = _lines(audit)[-1]
    assert last[3] == "127.0.0.2" and last[5].startswith("repeated 9 more times")
    assert len(_lines(audit)) == 6


def test_the_log_is_rotated_at_its_size_keeping_one_previous_file(tmp_path: Path) -> None:
    clock = ManualClock()
    log = AuditLog(tmp_path / "debugdash" / "audit.log", clock=clock, max_bytes=4096)
    for n in range(400):  # distinct addresses, so none is aggregated: the worst case for size
        assert log.record(AccessRefused(address=f"2001:db8::{n:x}", what="debugger", detail="/x?__debugger__=yes"))
    previous = log.path.with_name("audit.log.1")
    assert log.path.stat().st_size <= 4096 and previous.stat().st_size <= 4096
    assert not log.path.with_name("audit.log.2").exists()
    # The newest record is in the current file, the one before the rotation in the previous one.
    assert _lines(log.path)[-1][3] == "2001:db8::18f"
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600 == stat.S_IMODE(previous.stat().st_mode)
    assert set(os.listdir(log.path.parent)) == {"audit.log", "audit.log.1"}
