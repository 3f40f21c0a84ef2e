"""The patches that put the agent into Werkzeug and Flask.

- ``run_simple`` (in ``werkzeug.serving``, ``werkzeug`` and ``flask.cli``,
  which binds its own name at import): the debugger is never mounted by
  Werkzeug; our gate wraps the app instead; the reloader is ours; host, port
  and the reloader follow the supervisor's environment when it sets them.
- ``BaseWSGIServer.serve_forever``: ``ready`` when a server starts serving, and its
  connections counted so that a reload finishes what it accepted (``drain``).
- ``flask.cli.ScriptInfo.load_app``: ``load_error`` when the app cannot be loaded.
"""

from __future__ import annotations

import functools
import inspect
import os
from typing import Any

from debugdash.agent import reloader
from debugdash.agent.drain import drain
from debugdash.agent.load_errors import report_load_error
from debugdash.agent.request_errors import CaptureMiddleware
from debugdash.agent.runtime import Agent
from debugdash.protocol.events import Ready
from debugdash.protocol.redact import redact_query
from debugdash.protocol.env import HOST_ENV, PORT_ENV, RELOAD_ENV



def reload_override() -> bool | None:
    """The reloader setting forced by the supervisor, or None when it leaves it to the app."""
    value = os.environ.get(RELOAD_ENV)
    if value == "1":
        return True
    if value == "0":
        return False
    return None


def install(agent: Agent) -> None:
    """Patch Werkzeug (and Flask when importable) so servers started in this process report to ``agent``."""
    import werkzeug
    import werkzeug.serving

    patched = _wrap_run_simple(werkzeug.serving.run_simple, agent)
    werkzeug.serving.run_simple = patched
    if getattr(werkzeug, "run_simple", None) is not None:
        werkzeug.run_simple = patched
    _wrap_serve_forever(werkzeug.serving.BaseWSGIServer, agent)
    _redact_request_log(werkzeug.serving.WSGIRequestHandler)
    try:
        import flask.cli
    except ImportError:
        return
    flask.cli.run_simple = patched
    _wrap_load_app(flask.cli.ScriptInfo, agent)
    agent.reporter.connect_flask()


def _wrap_run_simple(original: Any, agent: Agent) -> Any:
    if getattr(original, "__debugdash__", False):
        return original
    signature = inspect.signature(original)

    @functools.wraps(original)
    def run_simple(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        options = bound.arguments
        if agent.mode == "script":
            if os.environ.get(HOST_ENV):
                options["hostname"] = os.environ[HOST_ENV]
            if os.environ.get(PORT_ENV):
                options["port"] = int(os.environ[PORT_ENV])
        forced = reload_override()
        if forced is not None:
            options["use_reloader"] = forced
        # We mount the debugger ourselves, behind the gate.
        options["use_debugger"] = False
        if options["use_reloader"]:
            options["reloader_type"] = reloader.NAME
        app = options["application"]
        agent.server_options = {
            "debug": _debug_of(app),
            "reloader": bool(options["use_reloader"]),
        }
        captured = CaptureMiddleware(app, agent.reporter)
        gated = agent.gate.wrap(captured, captured, str(options["hostname"]))
        # Outermost: the record sees the status the client gets, the debugger's error page included.
        options["application"] = agent.recorder.wrap(gated)
        return original(*bound.args, **bound.kwargs)

    run_simple.__debugdash__ = True  # type: ignore[attr-defined]
    return run_simple


def _redact_request_log(handler_class: type) -> None:
    """The server's own line per request shows secret query values as ``[redacted]``, like every other face."""
    original = handler_class.log_request
    if getattr(original, "__debugdash__", False):
        return

    @functools.wraps(original)
    def log_request(self: Any, *args: Any, **kwargs: Any) -> Any:
        path = getattr(self, "path", None)
        if not isinstance(path, str) or "?" not in path:
            return original(self, *args, **kwargs)
        before, _, query = path.partition("?")
        self.path = f"{before}?{redact_query(query)}"
        try:
            return original(self, *args, **kwargs)
        finally:
            self.path = path

    log_request.__debugdash__ = True  # type: ignore[attr-defined]
    handler_class.log_request = log_request


def _debug_of(app: Any) -> bool:
    debug = getattr(app, "debug", None)
    if isinstance(debug, bool):
        return debug
    try:
        from flask.helpers import get_debug_flag

        return bool(get_debug_flag())
    except ImportError:
        return False


def _wrap_serve_forever(server_class: type, agent: Agent) -> None:
    original = server_class.serve_forever
    if getattr(original, "__debugdash__", False):
        return

    @functools.wraps(original)
    def serve_forever(self: Any, *args: Any, **kwargs: Any) -> Any:
        # So that a reload lets this server finish the requests it accepted.
        drain.track(self)
        agent.emit(ready_event(self, agent))
        agent.started_serving()
        return original(self, *args, **kwargs)

    serve_forever.__debugdash__ = True  # type: ignore[attr-defined]
    server_class.serve_forever = serve_forever


def ready_event(server: Any, agent: Agent) -> Ready:
    """The ``ready`` event for a Werkzeug server that is about to serve."""
    host = str(server.host)
    port = int(server.port) if isinstance(server.port, int) else 0
    if host.startswith("unix://"):
        url = host
    else:
        shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
        if ":" in shown:
            shown = f"[{shown}]"
        scheme = "https" if getattr(server, "ssl_context", None) is not None else "http"
        url = f"{scheme}://{shown}:{port}"
    options = agent.server_options
    use_reloader = bool(options.get("reloader", False))
    return Ready(
        url=url,
        pid=os.getpid(),
        host=host,
        port=port,
        debug=bool(options.get("debug", False)),
        debugger=agent.gate.debugger,
        pin=agent.gate.pin,
        reloader=use_reloader,
        reloader_type=reloader.DISPLAY_NAME if use_reloader else None,
    )


def _wrap_load_app(script_info: type, agent: Agent) -> None:
    original = script_info.load_app
    if getattr(original, "__debugdash__", False):
        return

    @functools.wraps(original)
    def load_app(self: Any) -> Any:
        try:
            return original(self)
        except Exception as e:
            # A reloader parent never serves: when the error names a file to fix, it
            # carries on so its worker can serve the error (and report it) and the
            # reloader can watch the file, as Flask does for a reloaded worker.
            carry_on = agent.role == "reloader"
            event = report_load_error(agent, e, emit=not carry_on)
            if carry_on and event is not None and event.filename:
                return _failed_app(e)
            if carry_on and event is not None:
                agent.emit(event)
            raise

    load_app.__debugdash__ = True  # type: ignore[attr-defined]
    script_info.load_app = load_app


def _failed_app(error: BaseException) -> Any:
    def app(environ: dict, start_response: Any) -> Any:
        raise error

    return app
