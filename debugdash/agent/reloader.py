"""debugdash's reloader loop, registered with Werkzeug as ``reloader_type="debugdash"``.

Why a stat loop of our own: Werkzeug's watchdog backend floods with inotify
queue overflows on the machines debugdash targets, and its stat backend polls
once a second and walks every non-system ``sys.path`` directory for new ``.py``
files on each pass. This loop stats, every ``INTERVAL`` seconds, only:

- the files of loaded modules outside the interpreter's own library (the same
  set Werkzeug's stat loop takes from ``sys.modules``; recomputed only when the
  number of loaded modules changes); those of installed packages only on
  every ``LIBRARY_EVERY``-th pass, about once a second,
- extra files (``--extra-files``), and
- files named by a load error (the broken module, which is not in
  ``sys.modules``), so fixing it recovers.

It never walks directories: a new ``.py`` file matters only once it is
imported, and importing it means editing a file that is already watched.

On Linux the loop does not poll at all (``debugdash.agent.inotify``): it sleeps
until a watched file's directory sees a save, then stats the files of that
kind (the project's; the installed packages' only when one of their
directories saw it), and once every ``LOOK_INTERVAL`` looks whether new modules
were loaded. Polling was 0.3 % of a core for the demo app's idle worker and
0.5 % with pandas, SQLAlchemy and pydantic loaded (about 800 library files),
ten wake-ups a second; a save is also seen at once instead of within
``INTERVAL``. Without inotify, or past the user's watch limit, it polls as
described above.

On a change the worker emits ``reload`` naming the file, waits for the event to
be written, finishes the requests it accepted (``drain``), and exits with 3 so the reloader parent starts a new worker. The
parent keeps the worker's ``Popen`` so that, when the supervisor goes away, it
can take the worker down with it.
"""

from __future__ import annotations

import atexit
import fnmatch
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from werkzeug import _reloader

from debugdash.agent import preload
from debugdash.agent.inotify import Inotify
from debugdash.agent.drain import drain
from debugdash.protocol.env import PRELOAD_FILE_ENV
from debugdash.protocol.events import Event, Reload
from debugdash.protocol.session_events import ReloadHeld

NAME = "debugdash"
DISPLAY_NAME = "debugdash-stat"
#: Seconds between passes over the project's files; reload latency is at most this plus the restart.
INTERVAL = 0.1
#: Passes between looks at the files of installed packages (about once a second).
LIBRARY_EVERY = 10
#: Seconds after start before the worker lists its library modules for the next
#: template: the listing (20-30 ms with pandas loaded) must not delay the first request.
PRELOAD_DELAY = 1.0
#: Seconds between looks for newly loaded modules when inotify watches the files.
LOOK_INTERVAL = 1.0
#: The exit code of a process that lost debugdash (never 3, which means "reload").
CLOSED_EXIT_CODE = 4

_ignore_always = tuple({sys.base_prefix, sys.base_exec_prefix})


class AgentHooks:
    """What the loop needs from the agent; set by ``register``."""

    emit: Callable[[Event], None] = staticmethod(lambda event: None)
    flush: Callable[[], Any] = staticmethod(lambda: None)
    extra_watch: set[str] = set()
    worker: subprocess.Popen | None = None
    worker_lock = threading.Lock()
    #: Set when failing closed: the parent must not outlive (or restart) its worker.
    closing = False
    #: True while a reload must wait (the IDE holds a thread of this worker stopped).
    held: Callable[[], bool] = staticmethod(lambda: False)


#: When this process started; a watched file modified later may not be what was loaded.
_STARTED_NS = time.time_ns()


def mark_start() -> None:
    """Count from now: a warm spare becomes a worker long after its process started."""
    global _STARTED_NS
    _STARTED_NS = time.time_ns()


def register(emit: Callable[[Event], None], flush: Callable[[], Any], extra_watch: set[str]) -> None:
    """Make ``reloader_type="debugdash"`` available to ``run_simple``."""
    AgentHooks.emit = staticmethod(emit)
    AgentHooks.flush = staticmethod(flush)
    AgentHooks.extra_watch = extra_watch
    _reloader.reloader_loops[NAME] = DebugdashStatLoop


def _module_files() -> list[str]:
    files = []
    for module in list(sys.modules.values()):
        name = getattr(module, "__file__", None)
        if not isinstance(name, str) or name.startswith(_ignore_always):
            continue
        files.append(name)
    return files


_recorded: list[str] = []


def _record_preload() -> None:
    """Tell the next template what to preload: the library modules loaded here, when they grew."""
    global _recorded
    path = os.environ.get(PRELOAD_FILE_ENV)
    if not path:
        return
    names = preload.library_modules()
    if set(names) <= set(_recorded):
        return
    _recorded = names
    if set(names) <= set(preload.read_list(path)):
        return  # a worker before us loaded the same: the template has it
    try:
        preload.write_list(path, names)
    except OSError:
        pass


class DebugdashStatLoop(_reloader.ReloaderLoop):
    name = DISPLAY_NAME

    def __init__(self, extra_files=None, exclude_patterns=None, interval: float = INTERVAL) -> None:
        # Werkzeug passes its 1 s default; latency matters more here, the pass is cheap.
        super().__init__(extra_files, exclude_patterns, interval=min(interval, INTERVAL))
        # When the IDE stops the app, pydevd stops every traced thread (VS Code's
        # default for debugpy): this one must run on, to see a save and hold it.
        threading.current_thread().pydev_do_not_trace = True  # type: ignore[attr-defined]
        self.mtimes: dict[str, int] = {}
        self._module_count = -1
        self._paths: list[str] = []
        self._library: list[str] = []
        self._library_dirs = preload.library_dirs(resolve=False) + preload.library_dirs()
        self._passes = 0
        self._preload_due = False
        self._born = time.monotonic()

    def _watched(self, library: bool | None = None) -> list[str]:
        if len(sys.modules) != self._module_count:
            self._module_count = len(sys.modules)
            paths = set(_module_files())
            for pattern in self.exclude_patterns:
                paths.difference_update(fnmatch.filter(paths, pattern))
            self._library = sorted(p for p in paths if p.startswith(self._library_dirs))
            self._paths = sorted(paths.difference(self._library))
            self._preload_due = True
        self._passes += 1
        # Installed packages change rarely: looked at once a second, as Werkzeug's
        # stat loop does, so the project's own files can be looked at often.
        if library is None:
            library = self._passes % LIBRARY_EVERY == 1
        return [*self._paths, *(self._library if library else ()), *self.extra_files, *AgentHooks.extra_watch]

    def _directories(self) -> tuple[set[str], set[str]]:
        """The directories of the watched files: all of them, and those of installed packages."""
        library = {os.path.dirname(p) for p in self._library}
        others = {os.path.dirname(p) for p in (*self._paths, *self.extra_files, *AgentHooks.extra_watch)}
        return others | library, library - others

    def run(self) -> None:
        notify = Inotify.create()
        if notify is None:
            super().run()
            return
        try:
            self._run_notified(notify)
        finally:
            notify.close()

    def _run_notified(self, notify: Inotify) -> None:
        key = None
        complete = False
        library_dirs: set[str] = set()
        while True:
            current = (self._module_count, len(self._paths), len(AgentHooks.extra_watch))
            if current != key:
                key = current
                directories, library_dirs = self._directories()
                complete, added = notify.watch(directories)
                if added:
                    # A save between the last pass and the new watch would go unseen.
                    self.run_step(library=True)
                    continue
            if not complete:
                # Some directory could not be watched: poll, as without inotify.
                time.sleep(self.interval)
                self.run_step()
                continue
            timeout = LOOK_INTERVAL
            if self._preload_due:
                # The list for the next template is written by a pass, PRELOAD_DELAY after start.
                timeout = min(timeout, max(0.01, self._born + PRELOAD_DELAY - time.monotonic()))
            changed = notify.wait(timeout)
            if changed is not None:
                self.run_step(library=bool(changed & library_dirs))
            elif len(sys.modules) != self._module_count or self._preload_due:
                self.run_step(library=False)

    def run_step(self, library: bool | None = None) -> None:
        """One pass; ``library``: whether to look at the installed packages' files (None: every tenth pass)."""
        for name in self._watched(library):
            try:
                mtime = os.stat(name).st_mtime_ns
            except OSError:
                continue
            old = self.mtimes.get(name)
            if old is None:
                self.mtimes[name] = mtime
                if _STARTED_NS < mtime <= time.time_ns():
                    # Saved after this process started, so maybe after it was
                    # imported: the version running may be the old one. (A time
                    # in the future says nothing of when it was saved: every new
                    # worker would reload again until the clock caught up.)
                    self.trigger_reload(name)
            elif mtime != old:
                self.trigger_reload(name)
        if self._preload_due and time.monotonic() - self._born > PRELOAD_DELAY:
            self._preload_due = False
            _record_preload()

    def trigger_reload(self, filename: str) -> None:
        filename = os.path.abspath(filename)
        if AgentHooks.held():
            # Ending this worker would kill the paused request under the developer.
            AgentHooks.emit(ReloadHeld(filename=filename, pid=os.getpid()))
            AgentHooks.flush()
            while AgentHooks.held():
                time.sleep(self.interval)
        AgentHooks.emit(Reload(filename=filename, reloader=DISPLAY_NAME, pid=os.getpid()))
        AgentHooks.flush()
        self.log_reload(filename)
        drain.finish()
        _exit_for_reload()

    def restart_with_reloader(self) -> int:
        """Run workers until one exits with something other than 3 (a reload)."""
        while True:
            _reloader._log("info", f" * Restarting with {self.name}")
            args = [sys.executable, *sys.orig_argv[1:]]
            env = os.environ.copy()
            env["WERKZEUG_RUN_MAIN"] = "true"
            with AgentHooks.worker_lock:
                if AgentHooks.closing:
                    os._exit(CLOSED_EXIT_CODE)
                worker = subprocess.Popen(args, env=env, close_fds=False)
                AgentHooks.worker = worker
            try:
                code = worker.wait()
            except KeyboardInterrupt:
                worker.wait()
                raise
            if AgentHooks.closing:
                os._exit(CLOSED_EXIT_CODE)
            if code != 3:
                return code


def _exit_for_reload() -> None:
    """Exit with 3 without the interpreter's teardown of every loaded module.

    The next worker starts only once this one has exited, and with a real app
    loaded the teardown is most of a reload: with pandas and SQLAlchemy it
    measured 0.7-0.9 s between the ``reload`` event and the exit. What was
    registered to run at exit still runs, and the output is flushed.
    """
    if threading.current_thread() is not threading.main_thread():
        sys.exit(3)
    try:
        atexit._run_exitfuncs()
    finally:
        from debugdash.agent import output

        output.flush_all()
        os._exit(3)


def stop_worker() -> None:
    """Kill the current worker of this reloader parent, if any (used when failing closed)."""
    AgentHooks.closing = True
    with AgentHooks.worker_lock:
        worker = AgentHooks.worker
    if worker is not None and worker.poll() is None:
        try:
            worker.kill()
        except OSError:
            pass


def watch_until_changed(files: set[str]) -> None:
    """Block until one of ``files`` or a loaded module changes, then exit with 3 (reload).

    For a worker whose script failed to run: the parent restarts it once fixed.
    """
    AgentHooks.extra_watch.update(files)
    loop = DebugdashStatLoop()
    loop.run_step()
    while True:
        time.sleep(loop.interval)
        loop.run_step()
