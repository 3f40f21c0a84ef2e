"""Errors the user can cause, and how they reach the user."""

from __future__ import annotations


class UserInputError(ValueError):
    """Bad input from the user: an address, a duration, an app path, a port, config.

    The message is one line that names the fix. The command line prints it as
    ``Error: <message>`` and exits with code 2; the dashboard shows it inline.
    Never raised for problems in the app itself.
    """

    exit_code = 2
