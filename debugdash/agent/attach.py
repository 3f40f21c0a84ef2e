"""Starting and stopping debugpy inside the serving process, on demand.

The debuggee opens no port. pydevd (debugpy's debugger, speaking the Debug
Adapter Protocol itself) connects *outward* to the supervisor's attach hub on
127.0.0.1, which checks that the connection comes from this server process and
is the only way an IDE reaches it, through the relay. debugpy's usual
``listen()`` would instead leave an unauthenticated adapter port on 127.0.0.1
that every local user and every 127.0.0.x address can reach.

debugpy is imported from the app's environment first, else from the directory
named by ``DEBUGDASH_DEBUGPY_PATH``. Outcomes are reported as ``notice``
events; nothing here may raise into the agent's reader thread.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
from collections.abc import Callable

from debugdash.protocol.events import Event, Notice
from debugdash.protocol.env import DEBUGPY_PATH_ENV

_lock = threading.Lock()
_connected: int | None = None
_stopped = False
#: Set when the supervisor's attach hub has configured our debugger (or it could not start):
#: the first request must not run before the IDE's breakpoints are in place.
configured = threading.Event()
#: How long a new worker waits for that before it serves anyway.
CONFIGURE_WAIT = 15.0
#: pydevd's PyDBAdditionalThreadInfo.pydev_state of a thread stopped for the IDE (STATE_SUSPEND).
_SUSPENDED = 2


def paused() -> bool:
    """Whether the IDE holds a thread of this process stopped (at a breakpoint, a step, an exception)."""
    if _connected is None:
        return False
    for thread in threading.enumerate():
        info = getattr(thread, "additional_info", None)
        if info is not None and getattr(info, "pydev_state", None) == _SUSPENDED:
            return True
    return False


def _import_pydevd():
    # pydevd otherwise warns on stderr about frozen modules at every start.
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    try:
        import debugpy
    except ImportError:
        extra = os.environ.get(DEBUGPY_PATH_ENV)
        if not extra:
            raise
        if extra not in sys.path:
            sys.path.append(extra)
        import debugpy
    import debugpy.server.api  # noqa: F401 - sets pydevd up to speak DAP, as debugpy does
    import pydevd

    return debugpy, pydevd


def set_attach(port: int | None, emit: Callable[[Event], None]) -> None:
    """Connect debugpy to the attach hub on 127.0.0.1:``port``, or stop (``None``); in the background."""
    threading.Thread(target=_apply, args=(port, emit), name="debugdash-attach", daemon=True).start()


def _apply(port: int | None, emit: Callable[[Event], None]) -> None:
    try:
        _apply_locked(port, emit)
    finally:
        if _connected is None:
            configured.set()  # nothing to configure: serve


def _apply_locked(port: int | None, emit: Callable[[Event], None]) -> None:
    global _connected, _stopped
    with _lock:
        if port is None:
            if _connected is not None:
                _disconnect()
                _connected = None
                _stopped = True
                emit(Notice(level="info", message="debugpy stopped"))
            return
        if _connected == port:
            return
        if _stopped:
            # pydevd sets up once per process; a new worker can start it again.
            emit(Notice(level="error", message="debugpy can start only once per server process; restart the server to attach again"))
            return
        try:
            debugpy, pydevd = _import_pydevd()
            _keep_ours_running()
            pydevd.settrace(
                host="127.0.0.1",
                port=port,
                suspend=False,
                # Connected is enough: the server keeps serving until an IDE configures breakpoints.
                wait_for_ready_to_run=False,
                block_until_connected=True,
                # A child process would try the hub too and be turned away there.
                patch_multiprocessing=False,
                notify_stdin=False,
                dont_trace_start_patterns=(os.path.dirname(os.path.abspath(debugpy.__file__)),),
                dont_trace_end_patterns=("debugpy_launcher.py",),
            )
        except ImportError:
            emit(Notice(level="error", message="debugpy is not installed in the app's environment; install it there or set DEBUGDASH_DEBUGPY_PATH"))
            return
        except Exception as e:  # noqa: BLE001 - refused connection, pydevd failing to start
            emit(Notice(level="error", message=f"debugpy could not reach the attach hub on 127.0.0.1:{port}: {e}"))
            return
        _connected = port
        # No port here: this one is internal; the dashboard names the relay's, the one to connect to.
        emit(Notice(level="info", message=f"debugpy listening through the attach relay (pid {os.getpid()})"))


def _keep_ours_running() -> None:
    """The agent's own threads are not the app's: a stop in the IDE must not stop
    them (pydevd stops every traced thread), or a revoked grant or a save would
    wait for the developer to press continue."""
    for thread in threading.enumerate():
        if thread.name.startswith("debugdash-"):
            thread.pydev_do_not_trace = True  # type: ignore[attr-defined]


def _disconnect() -> None:
    """End pydevd's connection and tracing; best effort, and never for long:
    the hub closes its side too, and pydevd disposes of itself when it does."""

    def stoptrace() -> None:
        try:
            import pydevd

            sock = getattr(pydevd.get_global_debugger(), "_client_socket", None)
            if sock is not None:
                # First: pydevd closes the socket while its reader thread is still
                # blocked in recv(), and Linux then never sends the hub an end.
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            pydevd.stoptrace()
        except Exception:  # noqa: BLE001
            pass

    worker = threading.Thread(target=stoptrace, name="debugdash-attach-stop", daemon=True)
    worker.start()
    worker.join(2.0)
