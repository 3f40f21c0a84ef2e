"""Keeping debugdash's own frames out of the tracebacks the server formats.

Every wrapper debugdash puts around the app (the request record, the gate,
error capture, the hook in Flask's ``handle_exception``) is a frame in the
traceback of every failing request, walked by Werkzeug's log and debugger page
before they hide it, and printed by servers that do not honour
``__traceback_hide__``. A wrapper that re-raises calls ``drop_own_frame`` first.

Standard library only: this runs inside someone else's server.
"""

from __future__ import annotations

from types import FrameType


def drop_own_frame(exc: BaseException, frame: FrameType) -> None:
    """Take ``frame`` (the caller's, about to re-raise ``exc`` with a bare ``raise``) out of ``exc``'s traceback.

    A bare ``raise`` does not add the frame again, so a wrapper that passes an
    exception on leaves no trace of itself. Werkzeug hides frames marked
    ``__traceback_hide__`` only after it has walked them: each frame of the
    traceback it logs for every failing request costs a line lookup, a file
    stat and a position search (~5 µs in process, more in a busy server; see
    benchmarks/FINDINGS.md, error path), and the debugger page pays the same.
    """
    tb = exc.__traceback__
    if tb is not None and tb.tb_frame is frame:
        try:
            exc.__traceback__ = tb.tb_next
        except (AttributeError, TypeError):
            pass  # an exception type that refuses it keeps the frame, hidden as before
