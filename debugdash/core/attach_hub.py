"""The only way into the debuggee's debugger: a private endpoint in the supervisor.

debugpy's ``listen()`` would leave its adapter on an unauthenticated 127.0.0.1
port that any local user, and any 127.0.0.x address, can reach and execute
code through. Instead the server's pydevd connects *outward* to this hub, and
the hub takes exactly two kinds of connection on its 127.0.0.1 port, told
apart by which process holds the peer socket (looked up in /proc, so nothing
another user sends can fake it):

- the debuggee: a socket held by the supervised server's process tree;
- sessions: sockets held by this very process, i.e. the attach relay's
  upstream connections, which the relay opened only for admitted peers.

Anything else is closed before a byte is read. pydevd speaks the Debug Adapter
Protocol itself over its one connection; the hub shares it between sessions
(requests renumbered, each response back to its asker) and, like debugpy's own
adapter, lets one of them ``attach`` at a time. A session that arrives before
the debuggee has connected (just after attach was turned on, or a reload)
waits for it, up to ``wait`` seconds. An attached session that ends without
``disconnect`` gets one sent on its behalf, so the debuggee never stays paused
for an IDE that is gone.

The attached IDE outlives its debuggee: when a worker is replaced (reload,
restart, crash and restart) the IDE's connection stays, it hears that the old
threads ended, and the next worker's pydevd is given the IDE's recorded
configuration (``dap_record``) before ``on_configured`` lets that worker serve,
so the first request after a save stops at the breakpoints.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable

from debugdash.core.attach_parties import Debuggee, Session
from debugdash.core.dap import DapFramingError, Message, read_message
from debugdash.core.reattach import replay
from debugdash.protocol.events import AccessRefused, Event, Notice
from debugdash.protocol.session_events import DebugPaused
from debugdash.protocol.peers import holds_socket, owner_uid, peer_socket
from debugdash.protocol.text import neutralise

#: How long a session waits for the debuggee to connect.
DEBUGGEE_WAIT = 10.0


class AttachHub:
    """pydevd's connection, and the relay's sessions taking turns on it."""

    def __init__(
        self,
        *,
        debuggee_pids: Callable[[], Iterable[int]],
        publish: Callable[[Event], None],
        on_debuggee: Callable[[], None] = lambda: None,
        on_configured: Callable[[], None] = lambda: None,
        wait: float = DEBUGGEE_WAIT,
    ) -> None:
        self._debuggee_pids = debuggee_pids
        self._publish = publish
        self._on_debuggee = on_debuggee
        self._on_configured = on_configured
        self._wait = wait
        self._server: asyncio.Server | None = None
        self._debuggee: Debuggee | None = None
        self._arrival = asyncio.Event()  # set, and replaced, whenever a debuggee is ready
        self._sessions: dict[Session, None] = {}  # connected IDEs, in order
        self._owner: Session | None = None  # the one that attached
        self._tasks: set[asyncio.Task] = set()
        self._stopping = False

    @property
    def port(self) -> int | None:
        """The port on 127.0.0.1 the debuggee connects to; None when not started."""
        if self._server is None:
            return None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    async def stop(self) -> None:
        """Close the port, the debuggee's connection (pydevd stops) and every session."""
        server, self._server = self._server, None
        self._stopping = True
        if server is not None:
            server.close()
        if self._debuggee is not None:
            self._debuggee.writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2.0)
        if server is not None:
            await server.wait_closed()

    # --- who is calling -------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            kind, pid, refusal = await asyncio.to_thread(self._classify, writer)
            if refusal is not None:
                self._publish(refusal)
            if kind == "debuggee":
                await self._serve_debuggee(pid, reader, writer)
            elif kind == "session":
                await self._serve_session(reader, writer)
        except (OSError, asyncio.IncompleteReadError, DapFramingError):
            pass
        except Exception as e:  # noqa: BLE001 - one odd conversation must not reach the terminal as a traceback
            self._publish(Notice(level="warning", message=f"attach: connection ended: {type(e).__name__}: {e}"))
        except asyncio.CancelledError:
            # close() cancels us: end quietly, or asyncio's stream callback logs the
            # cancellation as an error on the user's terminal as debugdash quits.
            pass
        finally:
            self._tasks.discard(task)
            writer.transport.abort()

    def _classify(self, writer: asyncio.StreamWriter) -> tuple[str | None, int, AccessRefused | None]:
        """Which side a connection is; runs in a thread (it reads /proc)."""
        peer = writer.get_extra_info("peername")
        ours = writer.get_extra_info("sockname")
        found = peer_socket(peer[:2], ours[:2]) if peer and ours and peer[0] == "127.0.0.1" else None
        if found is not None:
            uid, inode = found
            if holds_socket(os.getpid(), inode):
                return "session", os.getpid(), None
            for pid in self._debuggee_pids() if uid == owner_uid() else ():
                if holds_socket(pid, inode):
                    return "debuggee", pid, None
        uid = found[0] if found is not None else None
        return None, 0, AccessRefused(
            address=str(peer[0]) if peer else "",
            what="attach",
            detail="debug adapter endpoint (only the attach port leads there)",
            uid=uid if uid != owner_uid() else None,
        )

        # --- the debuggee -------------------------------------------------------------

    async def _serve_debuggee(self, pid: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        old, debuggee = self._debuggee, Debuggee(pid, writer)
        if old is not None:  # a reloaded worker replaces the one going away
            old.writer.transport.abort()
            self._debuggee = None
            self._debuggee_went_away()
        self._debuggee = debuggee
        self._on_debuggee()
        configuring = asyncio.ensure_future(self._configure(debuggee))
        try:
            while (message := await read_message(reader)) is not None:
                self._from_debuggee(debuggee, message)
        finally:
            configuring.cancel()
            debuggee.gone.set()
            debuggee.fail_pending("the server was replaced; ask again")
            if self._debuggee is debuggee:
                self._debuggee = None
                self._debuggee_went_away()

    async def _configure(self, debuggee: Debuggee) -> None:
        """Give a new debuggee the attached IDE's configuration, then let it serve."""
        owner = self._owner
        try:
            if owner is not None and owner.config.configured:
                debuggee.replaying = True
                try:
                    await replay(owner.config, debuggee.ask, owner.send, timeout=self._wait)
                finally:
                    debuggee.replaying = False
                owner.send({"type": "event", "event": "output", "body": {"category": "console", "output": RELOADED}})
        except (OSError, asyncio.TimeoutError, RuntimeError, ValueError, TypeError, AttributeError) as e:
            message = str(e) or type(e).__name__
            self._publish(Notice(level="warning", message=f"attach: the new worker's debugger was not configured ({message})"))
        finally:
            debuggee.ready.set()
            arrival, self._arrival = self._arrival, asyncio.Event()
            arrival.set()
            self._on_configured()

    def _debuggee_went_away(self) -> None:
        """The attached IDE stays, told its threads ended; IDEs that never attached are let go."""
        owner = self._owner
        keep = owner is not None and owner.config.configured and not self._stopping
        if keep:
            for event in owner.threads.goodbye():
                owner.send(event)
            self._published_pause(owner)
        for session in list(self._sessions):
            if not (keep and session is owner):
                session.writer.transport.abort()

    def _from_debuggee(self, debuggee: Debuggee, message: Message) -> None:
        if message.get("type") == "response":
            asked = debuggee.answered(message)
            if asked is None or asked[0] not in self._sessions:
                return
            session, request = asked
            session.config.on_response(request, message)
            session.threads.on_response(request, message)
            session.send(message)
            self._published_pause(session)
            return
        if debuggee is not self._debuggee:
            return
        if debuggee.replaying and message.get("event") in ("initialized", "process"):
            return  # the IDE had these from the first worker
        if message.get("event") in ("terminated", "exited"):
            # A worker ending is a reload to the IDE, which would end its debug
            # session on these; the connection closing says when it really ends.
            return
        # Events (and pydevd's rare requests) belong to the attached IDE; before
        # anyone attached, every connected one may see them.
        for session in [self._owner] if self._owner is not None else list(self._sessions):
            if message.get("type") == "event":
                session.threads.on_event(message)
                if message.get("event") == "breakpoint":
                    message = session.config.ide_breakpoint(message)
            session.send(message)
            if session is not self._owner:
                continue
            if message.get("event") == "stopped":
                self._spawn(self._where(debuggee, message))
            else:
                self._published_pause(session)

    def _spawn(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _where(self, debuggee: Debuggee, stopped: Message) -> None:
        """Publish where the debuggee stopped: ``views.py:42 in total()``, and the thread."""
        body = stopped.get("body") or {}
        thread_id = body.get("threadId") if isinstance(body.get("threadId"), int) else 0
        paused = DebugPaused(paused=True, thread_id=thread_id, reason=str(body.get("reason") or ""))
        try:
            frames = await debuggee.ask("stackTrace", {"threadId": thread_id, "startFrame": 0, "levels": 1}, 5.0)
            threads = await debuggee.ask("threads", None, 5.0)
        except (OSError, asyncio.TimeoutError, RuntimeError):
            frames = threads = {}
        try:
            _describe(paused, frames, threads)
        except (AttributeError, TypeError, IndexError):
            pass  # an answer of another shape: the stop is still shown, without a place
        owner = self._owner
        if owner is not None and thread_id in owner.threads.stopped:
            owner.last_pause = paused
            self._publish(paused)

    def _published_pause(self, session: Session) -> None:
        """Tell the supervisor when the attached IDE's debuggee runs on again."""
        if session.last_pause is not None and not session.threads.paused:
            session.last_pause = None
            self._publish(DebugPaused(paused=False))

    @property
    def paused(self) -> DebugPaused | None:
        """Where the attached IDE's debuggee is stopped now, if it is."""
        owner = self._owner
        return owner.last_pause if owner is not None and owner.threads.paused else None

    # --- one IDE session ------------------------------------------------------------

    async def _serve_session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not await self._debuggee_ready():
            self._publish(
                Notice(level="warning", message=f"attach client turned away: debugpy did not start within {self._wait:g} s")
            )
            return
        session = Session(writer)
        self._sessions[session] = None
        try:
            while (message := await read_message(reader)) is not None:
                debuggee = await self._ready_debuggee()
                if message.get("type") == "request" and not self._admit_request(session, message):
                    continue
                if debuggee is None:
                    session.refuse(message, "the server is not running; save a fix or restart it")
                    continue
                session.config.on_request(message)
                session.threads.on_request(message)
                debuggee.forward(session, message)
                self._published_pause(session)
                await debuggee.writer.drain()
        finally:
            del self._sessions[session]
            if self._owner is session:
                self._owner = None
                debuggee = self._debuggee
                if not session.said_goodbye and debuggee is not None and not debuggee.gone.is_set():
                    debuggee.say_goodbye()
                if session.last_pause is not None:
                    self._publish(DebugPaused(paused=False))

    def _admit_request(self, session: Session, message: Message) -> bool:
        """One IDE debugs at a time, as with debugpy's own adapter: a second
        ``attach`` is answered with a refusal; ``initialize`` is anyone's."""
        command = message.get("command")
        if command in ("attach", "launch"):
            if self._owner is not None and self._owner is not session:
                session.refuse(message, "the server is already being debugged by another client")
                return False
            self._owner = session
        elif command == "disconnect" and self._owner is session:
            session.said_goodbye = True
        return True

    async def _ready_debuggee(self) -> Debuggee | None:
        """The current debuggee once configured; between workers, the next one (up to ``wait``)."""
        return await self._wait_for(lambda d: True)

    async def _debuggee_ready(self) -> bool:
        """Wait for a debuggee of the *current* server: right after a reload the
        old worker's connection may not have ended yet, and it is about to."""
        return await self._wait_for(lambda d: d.pid in self._debuggee_pids()) is not None

    async def _wait_for(self, fits: Callable[[Debuggee], bool]) -> Debuggee | None:
        deadline = asyncio.get_running_loop().time() + self._wait
        while True:
            debuggee = self._debuggee
            if debuggee is not None and debuggee.ready.is_set() and not debuggee.gone.is_set() and fits(debuggee):
                return debuggee
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return None
            try:
                # Also re-checked now and then: the old worker may end without a new one yet.
                await asyncio.wait_for(self._arrival.wait(), min(left, 0.2))
            except asyncio.TimeoutError:
                pass


def _describe(paused: DebugPaused, frames: Message, threads: Message) -> None:
    # Names the app chose (files, threads) reach terminals: neutralised here, as at every event boundary.
    top = ((frames.get("body") or {}).get("stackFrames") or [{}])[0]
    paused.filename = neutralise(str((top.get("source") or {}).get("path") or ""))
    line = top.get("line")
    paused.line = line if isinstance(line, int) else 0
    paused.function = neutralise(str(top.get("name") or ""))
    paused.reason = neutralise(paused.reason)
    for thread in (threads.get("body") or {}).get("threads") or []:
        if isinstance(thread, dict) and thread.get("id") == paused.thread_id:
            paused.thread = neutralise(str(thread.get("name") or ""))


#: What the IDE's debug console shows when a new worker took over.
RELOADED = "server reloaded \u2014 breakpoints re-applied\n"
