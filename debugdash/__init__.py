"""debugdash: run the Flask development server behind a live terminal dashboard."""

__version__ = "0.1.0"
