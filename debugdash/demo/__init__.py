"""A small bundled Flask app whose routes fail in the ways debugdash shows best;
it imports only Flask, as the user's own app would, never debugdash."""
