"""Reporting unhandled request exceptions as ``request_error`` events.

Two places see them, and each exception is reported once (it is marked):
Flask's ``got_request_exception`` (fires even when Flask turns the error into
its own 500), and ``CaptureMiddleware``, which sits inside the debugger and
also sees errors raised while a streamed body is iterated. The middleware
always re-raises, so the debugger or the server still handles the error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from debugdash.agent.capture import exception_chain, mark_reported
from debugdash.agent.requests import RAISED_KEY, REQUEST_ID_KEY
from debugdash.protocol.events import Event, RequestError


class ErrorReporter:
    def __init__(self, emit: Callable[[Event], None], keep: Callable[[BaseException], str] | None = None) -> None:
        self._emit = emit
        #: Files the exception's live frames away for the console; returns the occurrence id.
        self._keep = keep

    def report(self, environ: dict, exc: BaseException, streaming: bool = False) -> None:
        """Emit a ``request_error`` for ``exc`` unless it was reported already; never raises."""
        if not mark_reported(exc):
            return
        # Every occurrence keeps its frames, whatever the event says of it (issue 13).
        occurrence = self._keep(exc) if self._keep is not None else ""
        try:
            event = RequestError(
                method=str(environ.get("REQUEST_METHOD", "")),
                path=str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", "")),
                remote_addr=str(environ.get("REMOTE_ADDR", "")),
                chain=exception_chain(exc),
                streaming=streaming,
                pid=os.getpid(),
                occurrence=occurrence,
                request_id=environ.get(REQUEST_ID_KEY, 0),
            )
            environ[RAISED_KEY] = True  # the request's record links to this event
        except Exception:
            return  # reporting must never turn into a second failure of the request
        self._emit(event)

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

        Flask's ``got_request_exception`` signal when it works; Flask before 2.3
        without blinker installed has no working signals (``connect`` raises), so
        there ``Flask.handle_exception``, which would send the signal, reports it.
        """
        try:
            import flask
            from flask import signals
        except ImportError:
            return
        if getattr(signals, "signals_available", True):
            # weak=False: the receiver is a bound method of an object only the signal keeps.
            signals.got_request_exception.connect(self.on_flask_exception, weak=False)
        else:
            _report_from_handle_exception(flask.Flask, self)


def _report_from_handle_exception(app_class: type, reporter: ErrorReporter) -> None:
    original = app_class.handle_exception
    if getattr(original, "__debugdash__", False):
        return

    def handle_exception(self: Any, e: BaseException) -> Any:
        __traceback_hide__ = True  # noqa: F841 (out of the tracebacks Werkzeug logs, as the signal is)
        reporter.on_flask_exception(self, exception=e)
        return original(self, e)

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
