"""One tool call of `debugdash mcp`, start to end: it runs, its outcome becomes
the tool's answer (or an error the agent reads), and the session is told what
the agent did — shown on the dashboard, written to the audit log.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError

from debugdash.core.errors import UserInputError
from debugdash.mcp.link import SessionLink
from debugdash.protocol.redact import redact_json_value
from debugdash.protocol.redact import redact_assignments

#: Longest argument text reported to the session: one line of the audit log.
ARGUMENTS_LIMIT = 300


class Refused(Exception):
    """A tool asked for something an agent may not do; the message names the human's command."""


class Done:
    """A tool's answer, and the few words the dashboard shows of it."""

    def __init__(self, text: str, summary: str = "") -> None:
        self.text = text
        self.summary = summary


Work = Callable[[float | None], Awaitable[Done]]


async def run(link: SessionLink, tool: str, arguments: dict[str, Any], work: Work) -> str:
    """``work(previous_call_time)``'s text; a refusal or the session's error raised as the agent's error."""
    previous = link.begin_call()
    shown = describe_arguments(arguments)
    try:
        done = await work(previous)
    except Refused as e:
        await link.called(tool, shown, ok=False, summary="refused")
        raise ToolError(str(e)) from None
    except UserInputError as e:
        await link.called(tool, shown, ok=False, summary=str(e))
        raise ToolError(str(e)) from None
    await link.called(tool, shown, ok=True, summary=done.summary)
    return done.text


def describe_arguments(arguments: dict[str, Any]) -> str:
    """The arguments the agent gave, redacted, as one short line (left-out defaults not shown)."""
    given = {name: value for name, value in arguments.items() if value is not None}
    # Secrets by name, as everywhere: a secret-named argument, and a secret-named
    # value inside text (code for eval: ``login(password="hunter2")``).
    given = {name: redact_assignments(value) if isinstance(value, str) else value for name, value in redact_json_value(given).items()}
    text = json.dumps(given, ensure_ascii=False, separators=(", ", ": "), default=str) if given else ""
    return text if len(text) <= ARGUMENTS_LIMIT else text[: ARGUMENTS_LIMIT - 1] + "…"
