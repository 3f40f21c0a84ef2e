"""What a template may preload, and importing it without making the template unsafe to fork.

The worker records the modules it loaded from outside the project (the standard
library and installed packages; an editable install of the project lives in the
project, so it is not among them) in the file named by ``PRELOAD_FILE_ENV``. The
template imports them, one top-level package at a time, and checks after each
whether the package started something a fork would not carry over: a Python
thread (a forked child has only the thread that forked), a socket (the child
would share it with the template), or a native thread of a library not known to
re-create its threads after fork. Such a package is named and left out; the
template that imported it is not used (see ``debugdash.agent.template``).

numpy is known to survive fork: OpenBLAS, which starts its thread pool when
numpy is imported, registers ``pthread_atfork`` handlers and re-creates the
pool in the child.
"""

from __future__ import annotations

import importlib
import json
import os
import site
import sys
import sysconfig

#: Packages whose native threads are re-created after fork by the library itself.
FORK_SAFE_NATIVE = ("numpy",)
#: Never preloaded: the agent imports its own modules, and these are not modules of a library.
_NEVER = ("__main__", "__mp_main__", "debugdash")


def library_dirs(*, resolve: bool = True) -> tuple[str, ...]:
    """The standard library and site-packages directories of this interpreter (symbolic links resolved)."""
    paths = sysconfig.get_paths()
    dirs = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    try:
        dirs.update(site.getsitepackages())
    except AttributeError:  # an old virtualenv's site module
        pass
    user = site.getusersitepackages() if site.ENABLE_USER_SITE else None
    if isinstance(user, str):
        dirs.add(user)
    return tuple(os.path.join(os.path.realpath(d) if resolve else d, "") for d in dirs if d)


def library_modules(dirs: tuple[str, ...] | None = None) -> list[str]:
    """Names of the loaded modules whose files are in a library directory."""
    dirs = library_dirs() if dirs is None else dirs
    names = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or name.split(".")[0] in _NEVER:
            continue
        if os.path.realpath(path).startswith(dirs):
            names.append(name)
    return sorted(names)


def write_list(path: str, names: list[str]) -> None:
    """Replace the preload list at ``path`` in one step: a reader never sees half of it."""
    partial = f"{path}.{os.getpid()}.tmp"
    with open(partial, "w", encoding="utf-8") as f:
        json.dump(names, f)
    os.replace(partial, path)


def read_list(path: str | None) -> list[str]:
    if not path:
        return []
    try:
        with open(path, encoding="utf-8") as f:
            names = json.load(f)
    except (OSError, ValueError):
        return []
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def groups(names: list[str], excluded: set[str]) -> list[tuple[str, list[str]]]:
    """Names grouped by top-level package, the fork-safe native ones first so that
    a thread they start is never blamed on the package that imports them."""
    by_top: dict[str, list[str]] = {}
    for name in names:
        top = name.split(".")[0]
        if top not in excluded and top not in _NEVER:
            by_top.setdefault(top, []).append(name)
    order = sorted(by_top, key=lambda top: (top not in FORK_SAFE_NATIVE, top))
    return [(top, by_top[top]) for top in order]


class Hazards:
    """What a fork would not carry over, counted now to compare after an import."""

    def __init__(self) -> None:
        self.python_threads = _python_threads()
        self.native_threads = _native_threads()
        self.sockets = _sockets()

    def introduced_by(self, top: str) -> str | None:
        """Why ``top``, just imported, must be left out; None when it is safe.

        Raises the baseline when the only change is a fork-safe library's threads.
        """
        if _python_threads() > self.python_threads:
            return "starts a Python thread at import"
        if _sockets() > self.sockets:
            return "opens a socket at import"
        native = _native_threads()
        if native > self.native_threads:
            if top not in FORK_SAFE_NATIVE:
                return "starts a native thread at import"
            self.native_threads = native
        return None


def import_group(names: list[str]) -> None:
    """Import what the worker had loaded; a module that fails here fails in the worker too."""
    for name in names:
        try:
            importlib.import_module(name)
        except BaseException:  # noqa: BLE001 - a library's import error is the worker's to report
            pass


def _python_threads() -> int:
    import _thread

    return _thread._count()


def _native_threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def _sockets() -> int:
    count = 0
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return 0
    for fd in fds:
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            pass
    return count
