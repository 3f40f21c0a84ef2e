"""A small bundled Flask app whose routes fail in the ways debugdash shows best."""
