"""One session's private directory and guard pipe: the agent socket's home, the
import path handed to the server (our agent, and debugpy, alone), and the pipe
whose end of file tells each server's guard that debugdash is gone.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
from pathlib import Path

from debugdash.core.runtime import new_session_dir


class SessionDir:
    def __init__(self, path: Path, guard_pipe: tuple[int, int]) -> None:
        self.path = path
        #: A pipe only we write to; each server's guard waits for its end of file.
        self._guard_pipe: tuple[int, int] | None = guard_pipe

    @classmethod
    def create(cls, base: Path, port: int) -> SessionDir:
        guard_pipe = os.pipe()
        session = cls(new_session_dir(base, port), guard_pipe)
        _redirect_package("debugdash", session.import_dir)
        _link_package("debugpy", session.debugpy_dir)
        return session

    @property
    def agent_socket(self) -> Path:
        return self.path / "agent.sock"

    @property
    def import_dir(self) -> Path:
        """Put first on the server's PYTHONPATH: our agent, nothing else of our environment."""
        return self.path / "path"

    @property
    def debugpy_dir(self) -> Path:
        return self.path / "debugpy-path"

    @property
    def guard_fd(self) -> int | None:
        """The read end each server inherits; None once closed."""
        return self._guard_pipe[0] if self._guard_pipe is not None else None

    def remove(self) -> None:
        """Remove the directory and close the guard pipe; call once the tree is ended."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.close_guard()

    def close_guard(self) -> None:
        # Called once the tree is ended: the guards' end of file finds nothing left to kill.
        pipe, self._guard_pipe = self._guard_pipe, None
        for fd in pipe or ():
            with contextlib.suppress(OSError):
                os.close(fd)


def _redirect_package(name: str, into: Path) -> None:
    """Make package ``name`` importable from ``into`` alone, keeping its real file names.

    A one-line package whose ``__path__`` is our real package: tracebacks and the
    reloader see the real files, and nothing else from our environment leaks in.
    """
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return
    real = next(iter(spec.submodule_search_locations))
    package = into / name
    package.mkdir(parents=True)
    init = os.path.join(real, "__init__.py")
    (package / "__init__.py").write_text(
        "# Written by debugdash for this session: the real package lives elsewhere.\n"
        f"__path__ = [{real!r}]\n"
        f"__file__ = {init!r}\n"
        f"exec(compile(open(__file__).read(), __file__, 'exec'))\n"
    )


def _link_package(name: str, into: Path) -> None:
    """Make our copy of package ``name`` importable from ``into`` alone.

    The server may run in another virtualenv; a directory holding just this
    link keeps the rest of our environment (Textual, our Werkzeug) out of it.
    """
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return
    into.mkdir(exist_ok=True)
    (into / name).symlink_to(next(iter(spec.submodule_search_locations)), target_is_directory=True)
