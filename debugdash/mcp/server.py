"""The MCP server of `debugdash mcp`: the tools, the newest failure as a resource
and a prompt, and the handshake that tells the session which agent came."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from debugdash import __version__
from debugdash.core.errors import UserInputError
from debugdash.mcp import render, request_tools, tools
from debugdash.mcp.link import SessionLink
from debugdash.protocol.observe import ErrorDetail

INSTRUCTIONS = """\
debugdash runs this project's Flask development server. Use it to see what failed \
(errors, error, requests, logs), to check a fix (edit the code, call \
wait_for_reload, then replay the failing request), and to restart the server. Access to the interactive \
debugger (grants, the PIN, switching it on) stays with the human: those tools \
answer with the command to ask the human to run."""

NEWEST_FAILURE = "debugdash://failures/newest"


def build(link: SessionLink, *, allow_eval: bool = False) -> MCPServer:
    """The server for ``link``'s session; ``allow_eval``: the human started it with --mcp-allow-eval."""
    server = MCPServer(
        "debugdash", version=__version__, instructions=INSTRUCTIONS,
        log_level="WARNING", middleware=[_Handshake(link)],
    )
    tools.register(server, link)
    request_tools.register(server, link, allow_eval=allow_eval)

    @server.resource(NEWEST_FAILURE, name="newest_failure", mime_type="text/markdown",
                     description="The newest failing request as one markdown document: request, traceback, locals.")
    async def newest_failure_resource() -> str:
        return await _newest_failure(link, "resource newest_failure")

    @server.prompt(name="newest_failure", description="Hand the agent the newest failure of the app to diagnose and fix.")
    async def newest_failure_prompt() -> str:
        document = await _newest_failure(link, "prompt newest_failure")
        return (
            "This is the newest failure of my Flask app, as debugdash recorded it. Find the cause and fix it; "
            "then call wait_for_reload and request the failing page again to check the fix.\n\n" + document
        )

    return server


async def _newest_failure(link: SessionLink, what: str) -> str:
    try:
        detail = await link.ask(ErrorDetail())
    except UserInputError as e:
        await link.called(what, "", ok=False, summary=str(e))
        return f"{e}\n"
    await link.called(what, "", ok=True, summary=f"{detail.method} {detail.path}")
    return render.failure(detail)


class _Handshake:
    """Learns the client's name from its handshake, and tells the session an agent connected."""

    def __init__(self, link: SessionLink) -> None:
        self._link = link

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        if ctx.method == "initialize" and isinstance(ctx.params, dict):
            info = ctx.params.get("clientInfo") or ctx.params.get("client_info") or {}
            if isinstance(info, dict) and isinstance(info.get("name"), str):
                self._link.client = info["name"][:100]
        result = await call_next(ctx)
        if ctx.method == "notifications/initialized":
            await self._link.connected()
        return result
