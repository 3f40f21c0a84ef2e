"""Starting `debugdash mcp`: the extra's SDK and a running session of this user's
are checked first, each failure one line naming the fix; then the MCP server
serves stdin/stdout until the agent's client closes it.

No SDK import at the top: without the extra, this module still loads and says so.
"""

from __future__ import annotations

from debugdash.core import control
from debugdash.core.errors import UserInputError
from debugdash.protocol.control import Status

NO_SDK = "debugdash mcp needs the MCP SDK, an optional extra: pip install 'debugdash[mcp]'"


def serve(port: int | None) -> None:
    """Serve the session on ``port`` (the only one when None) to the agent on stdin/stdout."""
    try:
        import mcp.server.mcpserver  # noqa: F401  (only to learn whether the extra is installed)
    except ImportError:
        raise UserInputError(NO_SDK) from None
    # The same lookup and same-uid socket as every control command: the same refusals.
    status = control.request(Status(), port)

    from debugdash.mcp.link import SessionLink
    from debugdash.mcp.server import build

    link = SessionLink(status.port)
    try:
        build(link, allow_eval=bool(status.settings.get("mcp_allow_eval"))).run("stdio")
    except KeyboardInterrupt:
        pass  # run by hand in a terminal and stopped with Ctrl-C: nothing to report
    finally:
        link.disconnected()
