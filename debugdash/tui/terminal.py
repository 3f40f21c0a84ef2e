"""Leaving cleanly when the terminal goes away.

Over SSH or in tmux the terminal can vanish under a running dashboard. Textual's
Linux driver then misbehaves in two ways: its input thread treats end-of-file
as "no data" and goes straight back to ``select()``, which reports the closed
descriptor readable again — a 100 % CPU spin; and its writer thread dies on the
first failed write, after which the bounded output queue fills and the app
blocks for good. ``HangupSafeDriver`` fixes both and tells the app, which then
stops the server tree and exits. ``on_hangup`` covers SIGHUP (the SSH session or
the tmux session closed before stdin noticed).

The upstream input thread also wakes ten times a second to look whether it
should stop and whether a lone Escape has waited long enough; an idle dashboard
must not. Here it sleeps until a key arrives, the parser's own deadline (a
pending Escape) passes, or stopping sets ``exit_event``, which writes to a pipe
the thread also waits on.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import signal
import threading
from codecs import getincrementaldecoder
from collections.abc import Callable
from typing import IO, Any

from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver


class _ForgivingFile:
    """The driver's output file, turning writes to a vanished terminal into no-ops."""

    def __init__(self, file: IO[str], on_gone: Callable[[], None]) -> None:
        self._file = file
        self._on_gone = on_gone
        self.gone = False

    def write(self, text: str) -> int:
        if self.gone:
            return len(text)
        try:
            return self._file.write(text)
        except (OSError, ValueError):
            self._lost()
            return len(text)

    def flush(self) -> None:
        if self.gone:
            return
        try:
            self._file.flush()
        except (OSError, ValueError):
            self._lost()

    def _lost(self) -> None:
        self.gone = True
        self._on_gone()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


#: How often to look at the parser when its deadline cannot be read (another Textual): upstream's rate.
_POLL = 0.1


class _WakingEvent(threading.Event):
    """The driver's ``exit_event``: setting it also wakes the input thread's ``select``."""

    def __init__(self) -> None:
        super().__init__()
        #: The write end of the input thread's wake pipe; -1 while there is none.
        self.wake_fd = -1

    def set(self) -> None:
        super().set()
        if self.wake_fd < 0:
            return
        try:
            os.write(self.wake_fd, b"x")
        except OSError:
            pass  # the pipe is full: the thread is waking anyway


def _select_timeout(parser: XTermParser) -> float | None:
    """Until the parser's deadline (a lone Escape becomes a key), or None when it has none."""
    deadline = getattr(parser, "_timeout_time", _POLL)
    if deadline is _POLL:
        return _POLL
    if deadline is None:
        return None
    return max(0.0, deadline - get_time())


class HangupSafeDriver(LinuxDriver):
    """LinuxDriver that ends the app on stdin end-of-file or a dead terminal, instead of spinning."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._told_app = False
        if self._file is not None:
            self._file = _ForgivingFile(self._file, self._terminal_gone)
        self._wake_read = self._wake_write = -1
        self.exit_event = _WakingEvent()

    def _terminal_gone(self) -> None:
        if self._told_app:
            return
        self._told_app = True
        handler = getattr(self._app, "terminal_gone", None) or self._app.exit
        # call_later posts a message: safe from the input and writer threads.
        self._app.call_later(handler)

    def start_application_mode(self) -> None:
        # A wake pipe for each run of the input thread: suspending the app for
        # $EDITOR closes the driver, and resuming starts it again. With the pipe
        # closed for good, the new thread's select() failed (EBADF) and the app
        # ended, unless some other file had taken the pipe's number meanwhile.
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self.exit_event.wake_fd = self._wake_write
        super().start_application_mode()

    def close(self) -> None:
        super().close()
        # The input thread was joined when input was disabled, before this. No
        # write may reach the pipe's number once closed: another file may take it.
        self.exit_event.wake_fd = -1
        for fd in (self._wake_read, self._wake_write):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._wake_read = self._wake_write = -1

    def run_input_thread(self) -> None:
        # The upstream loop, except that end-of-file and read errors end it, and
        # that it sleeps until there is something to do.
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        selector.register(self._wake_read, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")(errors="replace").decode
        try:
            while not self.exit_event.is_set():
                for key, mask in selector.select(_select_timeout(parser)):
                    if key.fd == self._wake_read:
                        _drain(self._wake_read)
                        continue
                    if not mask & selectors.EVENT_READ:
                        continue
                    try:
                        data = os.read(self.fileno, 4096)
                    except OSError:
                        data = b""
                    if not data:
                        self._terminal_gone()
                        return
                    for event in parser.feed(decode(data)):
                        self.process_message(event)
                for event in parser.tick():
                    self.process_message(event)
        finally:
            selector.close()


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except OSError:
        pass


def on_hangup(callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` on SIGHUP and SIGTERM in the running loop; returns the undo function."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGHUP, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, callback)
        except (ValueError, RuntimeError, NotImplementedError):
            continue  # not the main thread, or no signals here
        installed.append(sig)

    def undo() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)

    return undo


def pick_driver(default: type[Any]) -> type[Any]:
    """The driver to run with: TEXTUAL_DRIVER, when set, is the user's choice; otherwise never the spinning one."""
    from textual import constants

    if default is LinuxDriver and constants.DRIVER is None:
        return HangupSafeDriver
    return default
