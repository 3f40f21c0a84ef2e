"""The engine: everything debugdash does, with no user interface.

Modules here never import Textual. The in-server agent may import the plain,
standard-library-only modules (events, wire, clock, addresses) but never the
asyncio supervisor.
"""
