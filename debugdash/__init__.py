"""debugdash: run the Flask development server behind a live terminal dashboard.

Layers, one direction: protocol (stdlib only) <- agent (inside the server) and
core (the engine) <- tui, headless and cli; pyproject.toml's import-linter
contracts hold the wall.
"""

__version__ = "0.1.0"
