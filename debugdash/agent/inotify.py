"""Linux inotify through ctypes (standard library only: the agent runs in the app's environment).

The reloader uses it to sleep until a file in a watched directory is written,
instead of waking ten times a second to stat every file. Only directories are
watched (an editor that saves by renaming a new file over the old one replaces
the file's inode, not its directory), and only events that follow a complete
write: a file closed after writing, moved into place, or given a new mtime.
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import struct

IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC

#: A save, however the editor does it; a new file (a module that failed to import may appear).
WATCH_MASK = IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR
_HEADER = struct.Struct("iIII")


class Inotify:
    """One inotify instance watching directories; ``wait`` says whether something happened."""

    def __init__(self, fd: int, libc: ctypes.CDLL) -> None:
        self.fd = fd
        self._libc = libc
        self._watched: dict[str, int] = {}
        self._failed: set[str] = set()

    @classmethod
    def create(cls) -> Inotify | None:
        """A new instance, or None where there is no inotify (not Linux, no libc, the per-user limit reached)."""
        try:
            libc = ctypes.CDLL(None, use_errno=True)  # the C library the interpreter is linked with
            init = libc.inotify_init1
        except (OSError, AttributeError):
            return None
        init.restype = ctypes.c_int
        init.argtypes = [ctypes.c_int]
        libc.inotify_add_watch.restype = ctypes.c_int
        libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        fd = init(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            return None
        return cls(fd, libc)

    def watch(self, directories: set[str]) -> tuple[bool, bool]:
        """Watch each of ``directories`` (kept once added): whether all are watched, whether any is new."""
        complete = True
        added = False
        for directory in directories:
            if directory in self._watched:
                continue
            if directory in self._failed:
                complete = False
                continue
            wd = self._libc.inotify_add_watch(self.fd, os.fsencode(directory), WATCH_MASK)
            if wd < 0:
                # ENOSPC: the user's watch limit; ENOENT: gone. Either way, polled instead.
                if ctypes.get_errno() != errno.ENOENT:
                    self._failed.add(directory)
                complete = False
                continue
            self._watched[directory] = wd
            added = True
        return complete, added

    def wait(self, timeout: float | None) -> set[str] | None:
        """Sleep until an event or ``timeout``; the directories that had events (all read), None on timeout.

        An overflowed queue names no directory: then every watched one.
        """
        try:
            readable, _, _ = select.select([self.fd], [], [], timeout)
        except InterruptedError:
            return set(self._watched)
        if not readable:
            return None
        return self._drain()

    def _drain(self) -> set[str]:
        by_wd = {wd: directory for directory, wd in self._watched.items()}
        changed: set[str] = set()
        while True:
            try:
                data = os.read(self.fd, 64 * 1024)
            except BlockingIOError:
                return changed
            if not data:
                return changed
            offset = 0
            while offset + _HEADER.size <= len(data):
                wd, mask, _cookie, length = _HEADER.unpack_from(data, offset)
                offset += _HEADER.size + length
                if mask & IN_Q_OVERFLOW:
                    changed.update(self._watched)
                    continue
                directory = by_wd.get(wd)
                if directory is None:
                    continue
                changed.add(directory)
                if mask & IN_IGNORED:
                    # The directory went (deleted, moved): watched again if it comes back.
                    self._watched.pop(directory, None)

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass
