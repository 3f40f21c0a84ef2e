"""Configuring a new worker's pydevd as the attached IDE configured the last one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from debugdash.core.dap import Message
from debugdash.core.dap_record import SessionConfig

Ask = Callable[[str, "dict[str, Any] | None", float], Awaitable[Message]]


async def replay(config: SessionConfig, ask: Ask, to_ide: Callable[[Message], None], *, timeout: float) -> None:
    """Send the recorded requests one by one, keeping the answers from the IDE.

    Only what changed reaches the IDE: a breakpoint that binds differently in
    the new code (a line that no longer holds code, say) as a ``breakpoint``
    event under the id the IDE knows.
    """
    for command, arguments in config.replay():
        response = await ask(command, arguments, timeout)
        if command == "setBreakpoints" and arguments is not None:
            for event in config.rebind(arguments, response):
                to_ide(event)
