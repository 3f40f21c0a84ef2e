"""The supervisor asks the serving process a question and gets its answer:
matched by qid, from the process that serves now (also after a reload), with a
one-line reason when nobody can answer — never a hang."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from debugdash.core.agent_hub import AgentQueryError
from debugdash.core.settings import Settings
from debugdash.core.supervisor import Supervisor
from debugdash.protocol.commands import Ping, Query
from debugdash.protocol.events import Event, Pong, Ready
from tests.support import SIMPLE_APP, free_port, wait_for_async, write_app


@dataclass(slots=True, kw_only=True)
class _Unknown(Query):
    """A query no agent answers (as an older agent would meet a newer supervisor)."""

    name: ClassVar[str] = "test_unknown_query"


async def test_the_serving_process_answers_and_a_failure_is_a_message(tmp_path: Path) -> None:
    write_app(tmp_path, SIMPLE_APP)
    settings = Settings.for_tests(app="app", port=free_port(), cwd=tmp_path, python=sys.executable, reload=True)
    supervisor = Supervisor(settings)
    seen: list[Event] = []
    supervisor.subscribe(seen.extend)
    ready = lambda: [e for e in seen if isinstance(e, Ready)]  # noqa: E731
    try:
        with pytest.raises(AgentQueryError, match="no server is running"):
            await supervisor.hub.ask(Ping())
        await supervisor.start()
        first = (await wait_for_async(ready, timeout=60, what="ready"))[-1]

        answers = await asyncio.gather(*(supervisor.hub.ask(Ping()) for _ in range(5)))
        assert all(isinstance(a, Pong) and a.pid == first.pid for a in answers)
        assert len({a.qid for a in answers}) == 5
        assert not any(e.name in ("pong", "reply") for e in seen), "replies never reach the bus"

        with pytest.raises(AgentQueryError, match="does not answer 'test_unknown_query'"):
            await supervisor.hub.ask(_Unknown())

        await supervisor.restart()
        second = (await wait_for_async(lambda: [e for e in ready() if e.pid != first.pid], timeout=60, what="the restarted server"))[-1]
        assert (await supervisor.hub.ask(Ping())).pid == second.pid
    finally:
        await supervisor.stop()
