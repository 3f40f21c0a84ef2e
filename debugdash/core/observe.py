"""What other terminals may read of a session — its output, its reloads, an error
group's newest occurrence — and the wait for its next reload (issue 17's
`debugdash mcp`, through the same-uid control socket).

Everything here reads what the session already keeps (the log ring, the state
folded from published events); nothing asks the server process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from debugdash.core.bus import Subscriber
from debugdash.core.console import group_id  # the id `debugdash errors` lists (issue 13)
from debugdash.core.errors import UserInputError
from debugdash.core.logbuffer import LogBuffer
from debugdash.core.state import ErrorGroup, SessionState
from debugdash.protocol.events import Event, Exited, LaunchFailed, LoadError, Ready, Reload, Started
from debugdash.protocol.observe import (
    ErrorDetailAnswer,
    LogLineInfo,
    LogLines,
    ReloadInfo,
    ReloadOutcome,
)


class SessionViews:
    def __init__(
        self,
        *,
        logs: LogBuffer,
        state: Callable[[], SessionState],
        subscribe: Callable[[Subscriber], Callable[[], None]],
    ) -> None:
        self._logs = logs
        self._state = state
        #: When the newest reload or restart ended (wall time), and how.
        self._last_end: tuple[float, ReloadOutcome] | None = None
        #: The reload whose new code has not served yet (None: the next end is a restart's).
        self._pending: Reload | None = None
        self._waiters: list[asyncio.Future[ReloadOutcome]] = []
        #: Whether the app failed to load in the newest server (its Ready is then no fix).
        self._load_failed = False
        subscribe(self._on_events)

    def logs(self, tail: int, search: str | None = None, since: int = 0) -> LogLines:
        """The newest ``tail`` lines above ``since``; with ``search``, the newest that contain it (any case)."""
        if search:
            lines = self._logs.since(since)
            needle = search.casefold()
            searched = len(lines)
            lines = [line for line in lines if needle in line.text.casefold()]
        else:
            lines = self._logs.since(since, limit=tail)
            searched = len(lines)
        return LogLines(
            lines=[LogLineInfo(seq=line.seq, stream=line.stream, text=line.text) for line in lines[-tail:] if tail],
            last_seq=self._logs.last_seq,
            searched=searched,
        )

    def reloads(self) -> list[ReloadInfo]:
        """The reloads the session kept, the newest first."""
        return [
            ReloadInfo(
                time=record.time,
                filename=record.filename,
                reloader=record.reloader,
                ready_after=record.ready_after,
                load_error=record.load_error.message if record.load_error else None,
            )
            for record in reversed(self._state().reloads)
        ]

    async def wait_for_reload(self, timeout: float, since: float | None = None) -> ReloadOutcome:
        """How the next reload (or restart) ends: it serves, fails to load, or the server ends.

        When one ended at or after ``since`` (wall time), that one answers at once.
        """
        if since is not None and self._last_end is not None and self._last_end[0] >= since:
            return self._last_end[1]
        ended: asyncio.Future[ReloadOutcome] = asyncio.get_running_loop().create_future()
        self._waiters.append(ended)
        try:
            return await asyncio.wait_for(ended, timeout)
        except asyncio.TimeoutError:
            return ReloadOutcome(outcome="timeout", message=f"no reload within {timeout:g}s")
        finally:
            if ended in self._waiters:
                self._waiters.remove(ended)

    def _on_events(self, events: list[Event]) -> None:
        # Followed from the events themselves: a batch reaches subscribers after the
        # state has folded in all of it, so the state may be ahead of the event at hand.
        for event in events:
            if isinstance(event, Reload):
                self._pending, self._load_failed = event, False
                continue
            if isinstance(event, Started):
                self._load_failed = False
                continue
            if isinstance(event, Ready) and self._load_failed:
                continue  # the worker that could not load the app serves its error page: not a fix
            outcome = _outcome_of(event, self._pending)
            if outcome is None:
                continue
            self._load_failed = isinstance(event, LoadError)
            self._pending = None
            self._last_end = (event.time, outcome)
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(outcome)

    def error_detail(self, group: str | None) -> ErrorDetailAnswer:
        """One error group's newest occurrence (the newest group's when ``group`` is None)."""
        groups = self._state().error_groups
        if not groups:
            raise UserInputError("no errors yet: no request has failed since the session started")
        if group is None:
            found: ErrorGroup | None = groups[0]
        else:
            found = next((g for g in groups if group_id(g.key) == group.strip()), None)
        if found is None:
            known = ", ".join(group_id(g.key) for g in groups[:10])
            raise UserInputError(f"no error group {group!r}; the session has: {known}")
        latest = found.latest
        return ErrorDetailAnswer(
            group=group_id(found.key),
            count=found.count,
            first_seen=found.first_seen,
            last_seen=found.last_seen,
            method=latest.method,
            path=latest.path,
            remote_addr=latest.remote_addr,
            streaming=latest.streaming,
            chain=latest.chain,
            occurrence=latest.occurrence,
            request_id=latest.request_id,
        )


def _outcome_of(event: Event, reload: Reload | None) -> ReloadOutcome | None:
    """How ``event`` ends a wait, if it does; ``reload`` is the one it finishes (None: a restart)."""
    filename = reload.filename if reload is not None else ""
    if isinstance(event, Ready):
        return ReloadOutcome(
            outcome="ready", filename=filename, url=event.url,
            ready_after=max(0.0, event.time - reload.time) if reload is not None else None,
            time=reload.time if reload is not None else event.time,
        )
    if isinstance(event, LoadError):
        return _load_error(event, filename)
    if isinstance(event, Exited) and not event.restarting and not event.expected:
        last = "\n".join(event.last_lines[-10:])
        return ReloadOutcome(outcome="crashed", message=f"the server exited with code {event.returncode}\n{last}".strip(), time=event.time)
    if isinstance(event, LaunchFailed):
        return ReloadOutcome(outcome="crashed", message=event.message, time=event.time)
    return None


def _load_error(event: LoadError, filename: str) -> ReloadOutcome:
    where = f" ({event.filename}:{event.lineno})" if event.filename else ""
    return ReloadOutcome(outcome="load_error", filename=filename, message=f"{event.message}{where}", time=event.time)
