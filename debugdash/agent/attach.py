"""Starting and stopping debugpy inside the serving process, on demand.

debugpy listens on 127.0.0.1 only; the user-facing port is the supervisor's
relay. It is imported from the app's environment first, else from the
directory named by ``DEBUGDASH_DEBUGPY_PATH``. Outcomes are reported as
``notice`` events; nothing here may raise into the agent's reader thread.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable

from debugdash.core.events import Event, Notice
from debugdash.core.wire import DEBUGPY_PATH_ENV

_lock = threading.Lock()
_listening: int | None = None


def _import_debugpy():
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
                stop_adapter()
                _listening = None
                emit(Notice(level="info", message="debugpy stopped"))
            return
        if _listening == port:
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
        emit(Notice(level="info", message=f"debugpy listening on 127.0.0.1:{port} (pid {os.getpid()})"))


def _children() -> list[int]:
    try:
        import psutil

        return [p.pid for p in psutil.Process().children(recursive=True)]
    except ImportError:
        pass
    pids = []
    me = str(os.getpid())
    try:
        entries = os.listdir("/proc")
    except OSError:
        return pids
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 1 and fields[1] == me:
            pids.append(int(entry))
    return pids


def _is_adapter(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
    except OSError:
        return False
    return b"debugpy" in cmdline and b"adapter" in cmdline


def stop_adapter() -> None:
    """Terminate debugpy's adapter subprocess(es) of this process; best effort."""
    import signal

    for pid in _children():
        if _is_adapter(pid):
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
