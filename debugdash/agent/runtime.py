"""The agent of one process: its link to the supervisor, its gate, its reporters.

Commands from the supervisor are applied here; losing the supervisor closes
every gate and ends the process at once with exit code 4 (never 3, which would
make Werkzeug's reloader parent start a new worker).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from debugdash.agent import attach, guard, output, reloader
from debugdash.agent.frames import FrameStore
from debugdash.agent.gate import DebuggerGate
from debugdash.agent.link import Link
from debugdash.agent.queries import Queries
from debugdash.agent.request_errors import ErrorReporter
from debugdash.agent.requests import RequestRecorder
from debugdash.protocol.events import Event, NewestErrorSent, Pong
from debugdash.protocol.commands import (
    AttachConfigured, Command, Configure, FetchRequest, Ping, Query, ReleaseFrames, SendNewestError, SetAttach,
    SetGate, SetGrants,
)

LOST_EXIT_CODE = reloader.CLOSED_EXIT_CODE


class Agent:
    def __init__(self, link: Link, configure: Configure, role: str, mode: str) -> None:
        self.link = link
        self.role = role
        self.mode = mode
        self.gate = DebuggerGate(
            debugger=configure.debugger,
            grants=configure.grants,
            trusted_hosts=configure.trusted_hosts,
            emit=self.emit,
            pin=configure.pin,
            pin_cookie=configure.pin_cookie,
        )
        #: The live frames of the newest failing requests, and the consoles over them.
        self.frames = FrameStore(configure.keep_frames)
        self.reporter = ErrorReporter(self.emit, self.frames.keep)
        #: What the supervisor may ask this process (see ``protocol.commands.Query``).
        self.queries = Queries(self.emit, more=self._answer_console_queries)
        self.queries.register(Ping, lambda query: Pong(pid=os.getpid()))
        self._consoles_lock = threading.Lock()
        self._consoles_ready = False
        #: Every request's record; the batch thread starts with the first server.
        self.recorder = RequestRecorder(self.emit)
        self.queries.register(FetchRequest, self.recorder.fetch)
        self.queries.register(SendNewestError, self._send_newest_error)
        #: Files the reloader watches besides loaded modules (e.g. a module that failed to load).
        self.extra_watch: set[str] = set()
        #: The debugpy port the supervisor wants (None: off); applied once this process serves.
        self._attach_port = configure.attach_port
        # Set by the run_simple hook, read when the server starts serving.
        self.server_options: dict[str, Any] = {}
        #: True once a server of this process started serving (later errors are not load errors).
        self.serving = False

    def _answer_console_queries(self) -> None:
        """The consoles (``agent.evaluation``, the console protocol, ``ast``...) load with the
        first query that needs them: ~10 ms of every server's start, for a feature used after an error."""
        with self._consoles_lock:
            if not self._consoles_ready:
                from debugdash.agent.evaluation import Evaluations

                Evaluations(self.frames).answer_queries(self.queries)
                self._consoles_ready = True

    def emit(self, event: Event) -> None:
        self.link.send(event)

    def start(self) -> None:
        self.link.start(self.apply, self.fail_closed)
        reloader.register(self.emit, self.link.flush, self.extra_watch)
        # A file saved while the IDE holds a thread stopped waits until it runs on.
        reloader.AgentHooks.held = staticmethod(attach.paused)

    def started_serving(self) -> None:
        """Called when a server of this process starts serving: debugpy belongs only there."""
        self.serving = True
        # Werkzeug marks the served socket inheritable (for its reloader parent's
        # sake); in the serving process that would hand the port to the app's children.
        guard.keep_listener_private()
        if self._attach_port is not None:
            attach.set_attach(self._attach_port, self.emit)
            # Requests wait in the listen backlog until the IDE's breakpoints are set.
            attach.configured.wait(attach.CONFIGURE_WAIT)

    def _send_newest_error(self, query: SendNewestError) -> NewestErrorSent:
        sent, count = self.reporter.groups.send_newest((query.exception_type, query.filename, query.lineno))
        return NewestErrorSent(sent=sent, count=count)

    def apply(self, command: Command) -> None:
        """Apply one command from the supervisor (called on the reader thread)."""
        if isinstance(command, SetGate):
            self.gate.set_debugger(command.debugger)
        elif isinstance(command, SetGrants):
            self.gate.set_grants(command.grants, rotate=command.rotate, pin=command.pin, pin_cookie=command.pin_cookie)
        elif isinstance(command, SetAttach):
            self._attach_port = command.port
            if self.serving:
                attach.set_attach(command.port, self.emit)
        elif isinstance(command, ReleaseFrames):
            if command.all:
                self.frames.release_all()
            else:
                self.frames.release_groups({(str(t), str(f), int(n)) for t, f, n in command.groups})
        elif isinstance(command, AttachConfigured):
            attach.configured.set()
        elif isinstance(command, Query):
            self.queries.answer(command)
        elif isinstance(command, Configure):
            self.gate.set_trusted_hosts(command.trusted_hosts)
            self.gate.set_grants(command.grants)
            self.gate.set_debugger(command.debugger)

    def fail_closed(self, reason: str) -> None:
        """The supervisor is gone: close every gate and end this process now."""
        self.gate.close_all()
        try:
            os.write(2, f"debugdash.agent: lost debugdash ({reason}); stopping the server\n".encode())
        except OSError:
            pass
        reloader.stop_worker()
        # Whatever the app started goes too: this process is their subreaper, so
        # orphans and daemons are all found below it.
        guard.end_descendants(os.getpid())
        output.flush_all()  # os._exit skips the buffers' own flush at exit
        os._exit(LOST_EXIT_CODE)
