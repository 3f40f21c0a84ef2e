"""Driving `debugdash mcp` the way an agent's client does: the MCP SDK's own stdio
client and session, against a real `debugdash --headless` session.

The SDK is the optional extra `debugdash[mcp]` (the test extra installs it);
without it these tests are skipped with that reason.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp", reason="the MCP SDK is not installed; `pip install -e '.[test]'` (or '.[mcp]') brings it")

import mcp_types  # noqa: E402
from mcp.client.session import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402

from tests.support import Session  # noqa: E402

CLIENT_NAME = "test-agent"


def agent(session: Session, *args: str):
    """An initialized MCP client session with `debugdash mcp ARGS` started beside ``session``."""
    return agent_at(session.cwd, session.env, *args)


@asynccontextmanager
async def agent_at(cwd: Path, environ: dict[str, str], *args: str) -> AsyncIterator[ClientSession]:
    """The same, for a session started some other way (the dashboard in tmux)."""
    # The SDK starts the server with a minimal environment; ours adds where sessions live.
    env = {name: environ[name] for name in ("DEBUGDASH_RUNTIME_DIR", "XDG_STATE_HOME") if name in environ}
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "debugdash", "mcp", *args], env=env, cwd=str(cwd)
    )
    with tempfile.TemporaryFile("w+") as errlog:
        try:
            async with stdio_client(params, errlog=errlog) as (read, write):
                info = mcp_types.Implementation(name=CLIENT_NAME, version="1.0")
                async with ClientSession(read, write, read_timeout_seconds=120, client_info=info) as client:
                    await client.initialize()
                    yield client
        except BaseException:
            errlog.seek(0)
            print(f"debugdash mcp stderr:\n{errlog.read()[-4000:]}")
            raise


async def tool_names(client: ClientSession) -> set[str]:
    return {tool.name for tool in (await client.list_tools()).tools}


async def call(client: ClientSession, tool: str, **arguments: Any) -> tuple[bool, str]:
    """(whether the tool answered with an error, its text)."""
    result = await client.call_tool(tool, arguments)
    return bool(result.is_error), "\n".join(getattr(block, "text", "") for block in result.content)


async def call_json(client: ClientSession, tool: str, **arguments: Any) -> Any:
    failed, text = await call(client, tool, **arguments)
    assert not failed, f"{tool} failed: {text}"
    return json.loads(text)


def audit_lines(session: Session) -> list[list[str]]:
    """The session's audit log, each record split into its tab-separated fields."""
    path = Path(session.env["XDG_STATE_HOME"]) / "debugdash" / "audit.log"
    return [line.split("\t") for line in path.read_text().splitlines()] if path.exists() else []
