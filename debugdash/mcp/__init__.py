"""`debugdash mcp`: the running session as tools for a coding agent, over the
Model Context Protocol's stdio transport (issue 17).

It reaches the session only through the same-uid control socket, like every
other control command, and reads what the session already keeps. Access stays
with the human: grants, revokes, the PIN, and switches that widen access are
refused with the command the human would run.

The MCP SDK is an optional extra (`pip install 'debugdash[mcp]'`): ``launch``
(what the CLI calls) loads without it and says how to install it; the other
modules here are imported only once it is there. ``render`` and ``refusals``
hold the words; ``tools`` and ``request_tools`` the tools; ``calls`` what every
call does (its audit report); ``link`` the session; ``server`` the rest.
"""
