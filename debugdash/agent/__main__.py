"""``python -m debugdash.agent flask|script ...``: connect to debugdash, hook in, run the app.

The connection comes first and blocks until the supervisor's ``configure``
arrives, so the app is never imported, nor a gate opened, on stale state.
"""

from __future__ import annotations

import atexit
import os
import runpy
import sys
import traceback

from debugdash.protocol.env import SOCKET_ENV, SPARE_ENV, TEMPLATE_FD_ENV, TOKEN_ENV

NOT_STARTED_BY_DEBUGDASH = "debugdash.agent is started by debugdash; run `debugdash --app ...` instead"
USAGE = "usage: python -m debugdash.agent flask <flask args...> | script <file.py> [args...]"


def role_of(mode: str, args: list[str]) -> str:
    """Which part of the server tree this process is: worker, reloader (parent) or server."""
    if os.environ.get("WERKZEUG_RUN_MAIN") == "true":
        return "worker"
    from debugdash.agent.hooks import reload_override

    forced = reload_override()
    if forced is not None:
        return "reloader" if forced else "server"
    if mode == "flask":
        if "--no-reload" in args:
            return "server"
        debug = "--debug" in args or os.environ.get("FLASK_DEBUG", "").lower() in ("1", "true", "yes")
        if "--reload" in args or (debug and "--no-debug" not in args):
            return "reloader"
    return "server"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    socket_path = os.environ.get(SOCKET_ENV)
    if not socket_path:
        print(NOT_STARTED_BY_DEBUGDASH, file=sys.stderr)
        return 2
    if not args or args[0] not in ("flask", "script") or (args[0] == "script" and len(args) < 2):
        print(USAGE, file=sys.stderr)
        return 2
    mode, rest = args[0], args[1:]
    if mode == "script" and not os.path.isfile(rest[0]):
        print(f"Error: no such file {rest[0]!r}; pass the path of a script that calls app.run()", file=sys.stderr)
        return 2
    from debugdash.agent import guard

    # Before anything else runs here: from now on nothing below this process outlives debugdash.
    guard.protect()
    if TEMPLATE_FD_ENV in os.environ:
        from debugdash.agent import template

        template.serve()  # returns only in a worker it forked, set up as a fresh one
        guard.protect()
    if os.environ.pop(SPARE_ENV, None) and not _wait_as_spare():
        return 0

    from debugdash.agent import hooks, output
    from debugdash.agent.link import HandshakeError, connect
    from debugdash.agent.runtime import Agent

    role = role_of(mode, rest)
    try:
        link, configure = connect(socket_path, os.environ.get(TOKEN_ENV, ""), role)
    except HandshakeError as e:
        print(f"debugdash.agent: {e}", file=sys.stderr)
        return 1
    agent = Agent(link, configure, role, mode)
    agent.start()
    output.start_flusher()
    # Events queued just before a normal exit (a load error, say) still reach debugdash.
    atexit.register(link.flush, 2.0)
    hooks.install(agent)
    if mode == "flask":
        return _run_flask(rest)
    return _run_script(agent, rest[0], rest[1:])


def _wait_as_spare() -> bool:
    """Be a warm spare worker: import what every worker imports, then wait.

    debugdash starts the spare while the current worker serves. On a reload it
    writes a line to our stdin and we go on as the new worker, importing only
    the app. End of file means we are not needed. Returns whether to go on.
    """
    try:
        import flask.cli  # noqa: F401
        import werkzeug.debug  # noqa: F401
        import werkzeug.serving  # noqa: F401

        from debugdash.agent import hooks, link, output, runtime  # noqa: F401
    except ImportError:
        pass  # the worker's own start reports what is missing
    word = sys.stdin.readline()
    if not word.strip():
        return False
    # The app may read stdin; it gets what a worker always gets.
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    from debugdash.agent import reloader

    # Files saved while we waited are what we are about to import, not changes.
    reloader.mark_start()
    return True


def _run_flask(args: list[str]) -> int:
    from flask.cli import cli

    cli.main(args=args, prog_name="flask")
    return 0


def _run_script(agent, path: str, args: list[str]) -> int:
    from debugdash.agent import reloader
    from debugdash.agent.load_errors import report_load_error

    # app.run() silently does nothing when it believes the flask command runs it.
    os.environ.pop("FLASK_RUN_FROM_CLI", None)
    path = os.path.abspath(path)
    sys.argv = [path, *args]
    sys.path[0] = os.path.dirname(path)
    try:
        runpy.run_path(path, run_name="__main__")
    except (SystemExit, KeyboardInterrupt):
        raise
    except Exception as e:
        if agent.serving:
            raise
        report_load_error(agent, e, script=path)
        traceback.print_exc()
        if agent.role == "worker":
            # Like a Flask app that fails to load on reload: keep watching, recover on a fix.
            reloader.watch_until_changed(set(agent.extra_watch))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
