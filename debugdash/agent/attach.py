"""Starting and stopping debugpy inside the serving process, on demand.

debugpy listens on 127.0.0.1 only; the user-facing port is the supervisor's
relay. It is imported from the app's environment first, else from the
directory named by ``DEBUGDASH_DEBUGPY_PATH``. Outcomes are reported as
``notice`` events; nothing here may raise into the agent's reader thread.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from collections.abc import Callable

from debugdash.core.events import Event, Notice
from debugdash.core.wire import DEBUGPY_PATH_ENV

_lock = threading.Lock()
_listening: int | None = None
_stopped: set[int] = set()


def _import_debugpy():
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
    return debugpy


def set_attach(port: int | None, emit: Callable[[Event], None]) -> None:
    """Listen with debugpy on 127.0.0.1:``port``, or stop it (``None``); in the background."""
    threading.Thread(target=_apply, args=(port, emit), name="debugdash-attach", daemon=True).start()


def _apply(port: int | None, emit: Callable[[Event], None]) -> None:
    global _listening
    with _lock:
        if port is None:
            if _listening is not None:
                stop_adapter(_listening)
                _stopped.add(_listening)
                _listening = None
                emit(Notice(level="info", message="debugpy stopped"))
            return
        if _listening == port:
            return
        if _stopped:
            # debugpy.listen() works once per process; a new worker can listen again.
            emit(Notice(level="error", message="debugpy can listen only once per server process; restart the server to attach again"))
            return
        try:
            debugpy = _import_debugpy()
            debugpy.listen(("127.0.0.1", port))
        except ImportError:
            emit(Notice(level="error", message="debugpy is not installed in the app's environment; install it there or set DEBUGDASH_DEBUGPY_PATH"))
            return
        except Exception as e:  # debugpy raises RuntimeError for a taken port or a second listen
            emit(Notice(level="error", message=f"debugpy could not listen on 127.0.0.1:{port}: {e}"))
            return
        _listening = port
        # A reloaded worker listens on the same port: the old adapter must be gone first.
        atexit.register(stop_adapter, port)
        emit(Notice(level="info", message=f"debugpy listening on 127.0.0.1:{port} (pid {os.getpid()})"))


def _adapter_pids(port: int) -> list[int]:
    """debugpy's adapter for ``port``: it double-forks and calls setsid, so it is no
    child of ours and escapes the server's process group; find it by command line."""
    pids = []
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return _adapter_pids_psutil(port)
    for entry in entries:
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if _is_adapter([a.decode("utf-8", "replace") for a in args], port):
            pids.append(int(entry))
    return pids


def _adapter_pids_psutil(port: int) -> list[int]:
    try:
        import psutil
    except ImportError:
        return []
    pids = []
    for process in psutil.process_iter(["cmdline"]):
        if _is_adapter(process.info.get("cmdline") or [], port):
            pids.append(process.pid)
    return pids


def _is_adapter(args: list[str], port: int) -> bool:
    if "--for-server" not in args or not any("debugpy" in a for a in args):
        return False
    try:
        return args[args.index("--port") + 1] == str(port)
    except (ValueError, IndexError):
        return False


def stop_adapter(port: int | None = None) -> None:
    """Terminate debugpy's adapter for ``port`` (default: the one we started); best effort."""
    import signal

    port = port if port is not None else _listening
    if port is None:
        return
    pids = _adapter_pids(port)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    # Wait briefly until the port is released, so the next listener can bind it.
    deadline = time.monotonic() + 1.0
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if _alive(pid)]
        if pids:
            time.sleep(0.01)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False
