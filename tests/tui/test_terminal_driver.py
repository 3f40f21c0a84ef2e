"""The dashboard's terminal driver across a suspend (``e`` runs $EDITOR): Textual
closes the driver when it suspends the app and starts it again on resume. The
input thread's wake pipe must be there again after the resume (the app ended
with EBADF when it was not), and nothing may be written to its old number,
which another file may have taken meanwhile. ``test_tmux`` runs the editor for
real; this pins the driver's part without a terminal."""

from __future__ import annotations

import os
import select

import pytest
from textual.drivers.linux_driver import LinuxDriver

from debugdash.tui.terminal import HangupSafeDriver


class _App:
    def call_later(self, *_args) -> None:
        pass


@pytest.fixture
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the terminal's part is left out: the wake pipe is ours.
    monkeypatch.setattr(LinuxDriver, "start_application_mode", lambda self: None)
    monkeypatch.setattr(LinuxDriver, "close", lambda self: None)


def _readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])


async def test_a_resumed_driver_has_a_working_wake_pipe_and_the_closed_one_is_never_written(no_terminal) -> None:
    driver = HangupSafeDriver(_App())  # a driver is made in the app's running loop
    driver.start_application_mode()
    first = driver._wake_read
    driver.exit_event.set()
    assert _readable(first)  # setting the exit event wakes the input thread
    driver.exit_event.clear()

    driver.close()  # the suspend
    # Whatever takes the old numbers now must get nothing from the driver.
    taken_read, taken_write = os.pipe()
    try:
        driver.exit_event.set()
        driver.exit_event.clear()
        assert not _readable(taken_read)

        driver.start_application_mode()  # the resume
        os.fstat(driver._wake_read)  # open (EBADF here was the app's end)
        driver.exit_event.set()
        assert _readable(driver._wake_read)
    finally:
        driver.close()
        os.close(taken_read)
        os.close(taken_write)
