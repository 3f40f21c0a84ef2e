"""Reporting unhandled request exceptions as ``request_error`` events.

Two places see them, and each exception is reported once (it is marked):
Flask's ``got_request_exception`` (fires even when Flask turns the error into
its own 500), and ``CaptureMiddleware``, which sits inside the debugger and
also sees errors raised while a streamed body is iterated. The middleware
always re-raises, so the debugger or the server still handles the error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from debugdash.agent import logged_tracebacks
from debugdash.agent.error_groups import ErrorGroups, Occurrence
from debugdash.agent.requests import RAISED_KEY, REQUEST_ID_KEY
from debugdash.agent.tracebacks import drop_own_frame
from debugdash.protocol.events import Event


class ErrorReporter:
    def __init__(
        self,
        emit: Callable[[Event], None],
        keep: Callable[[BaseException], str] | None = None,
        *,
        groups: ErrorGroups | None = None,
    ) -> None:
        self._emit = emit
        #: Files the exception's live frames away for the console; returns the occurrence id.
        self._keep = keep
        #: Decides whether an occurrence goes out whole or as a small repeat.
        self.groups = groups if groups is not None else ErrorGroups(emit)

    def report(self, environ: dict, exc: BaseException, streaming: bool = False) -> None:
        """Report ``exc`` unless it was reported already; never raises.

        Every occurrence is captured here, at failure time (so its locals are
        the values they had); ``ErrorGroups`` decides how much of it is sent now.
        """
        from debugdash.agent.capture import mark_reported

        if not mark_reported(exc):
            return
        # Every occurrence keeps its frames, whatever the event says of it (issue 13).
        occurrence = self._keep(exc) if self._keep is not None else ""
        try:
            environ[RAISED_KEY] = True  # the request's record links to this group
            self.groups.occurred(capture(environ, exc, streaming, occurrence=occurrence))
        except Exception:
            return  # reporting must never turn into a second failure of the request

    def on_flask_exception(self, sender: Any, exception: BaseException | None = None, **extra: Any) -> None:
        """Receiver for ``flask.got_request_exception``."""
        if exception is None:
            return
        try:
            from flask import request

            environ = request.environ
        except Exception:
            environ = {}
        self.report(environ, exception)

    def connect_flask(self) -> None:
        """Hear of every exception Flask handles, in every app, when Flask is importable.

        ``Flask.handle_exception`` reports it: the method that sends Flask's
        ``got_request_exception`` signal, so the same exceptions at the same
        moment. Not a receiver of the signal: blinker's ``send`` then walks its
        receivers for every failing request (0.04 ms per failure in a py-spy
        diff against plain ``flask run``, where the signal has no receiver and
        returns at once), and Flask before 2.3 without blinker has no working
        signals at all.
        """
        try:
            import flask
        except ImportError:
            return
        _report_from_handle_exception(flask.Flask, self)
        # Werkzeug's server logs each failure's traceback: rendered once per kind of failure.
        logged_tracebacks.install()


def capture(environ: dict, exc: BaseException, streaming: bool = False, *, occurrence: str = "") -> Occurrence:
    """``exc`` raised by the request of ``environ``, as it is now (``.event()`` is its ``request_error``)."""
    from debugdash.agent.capture import chain_snapshot

    return Occurrence(
        method=str(environ.get("REQUEST_METHOD", "")),
        path=str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", "")),
        remote_addr=str(environ.get("REMOTE_ADDR", "")),
        chain=chain_snapshot(exc),
        streaming=streaming,
        pid=os.getpid(),
        occurrence=occurrence,
        request_id=environ.get(REQUEST_ID_KEY, 0),
    )


def _report_from_handle_exception(app_class: type, reporter: ErrorReporter) -> None:
    original = app_class.handle_exception
    if getattr(original, "__debugdash__", False):
        return

    def handle_exception(self: Any, e: BaseException) -> Any:
        __traceback_hide__ = True  # noqa: F841 (out of the tracebacks Werkzeug logs, as the signal is)
        reporter.on_flask_exception(self, exception=e)
        try:
            return original(self, e)
        except BaseException as raised:
            drop_own_frame(raised, sys._getframe())
            raise

    handle_exception.__debugdash__ = True  # type: ignore[attr-defined]
    app_class.handle_exception = handle_exception


class CaptureMiddleware:
    """Reports exceptions from ``app`` and from iterating its body, then re-raises them."""

    def __init__(self, app: Callable, reporter: ErrorReporter) -> None:
        self.app = app
        self.reporter = reporter

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        # Werkzeug leaves frames marked so out of the tracebacks it logs and shows: the
        # app's traceback reads as under plain `flask run`, and is cheaper to render.
        __traceback_hide__ = True  # noqa: F841
        try:
            body = self.app(environ, start_response)
        except Exception as e:
            self.reporter.report(environ, e)
            drop_own_frame(e, sys._getframe())
            raise
        return _ReportingBody(body, environ, self.reporter)


class _ReportingBody:
    """The response body, passed through; an error while iterating it is reported as streaming."""

    def __init__(self, body: Iterable[bytes], environ: dict, reporter: ErrorReporter) -> None:
        self._body = body
        self._environ = environ
        self._reporter = reporter

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._body
        except Exception as e:
            self._reporter.report(self._environ, e, streaming=True)
            raise

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close is not None:
            close()
