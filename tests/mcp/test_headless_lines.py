"""What `debugdash --headless` (without --json) prints of a coding agent's visit."""

from __future__ import annotations

from debugdash.headless import describe
from debugdash.protocol.observe import CodingAgent


def test_each_call_reads_as_one_line_with_its_outcome() -> None:
    def line(**fields) -> str:
        return describe(CodingAgent(client="claude-code", pid=4242, **fields))

    assert line(state="connected") == "agent     claude-code (pid 4242) connected"
    assert line(state="call", tool="logs", arguments='{"search": "KeyError"}', summary="2 lines") == (
        'agent     claude-code logs {"search": "KeyError"} ok (2 lines)'
    )
    assert line(state="call", tool="grant_access", arguments='{"address": "203.0.113.7"}', ok=False, summary="refused") == (
        'agent     claude-code grant_access {"address": "203.0.113.7"} refused'
    )
    assert line(state="call", tool="error", ok=False, summary="no errors yet") == "agent     claude-code error failed (no errors yet)"
    assert line(state="disconnected") == "agent     claude-code (pid 4242) disconnected"
