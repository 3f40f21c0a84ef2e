"""Handing published events out: to the session state first, then the audit log,
then every subscriber (a subscriber that fails is reported, never fatal)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from debugdash.core.audit import AuditLog
from debugdash.core.callbacks import in_subscribers_context
from debugdash.protocol.events import Event, Notice

Subscriber = Callable[[list[Event]], None]


class EventBus:
    def __init__(self, audit: AuditLog, apply: Callable[[Event], None]) -> None:
        self._audit = audit
        self._apply = apply
        self._subscribers: list[Subscriber] = []
        self._audit_warned = False
        self._held: list[Event] | None = None

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(events)`` with each batch of events, in the context it subscribed
        from; returns the unsubscribe function."""
        subscriber = in_subscribers_context(callback)
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber) if subscriber in self._subscribers else None

    def hold(self) -> None:
        """Keep what is published from now until ``held()``: for a face that subscribes late."""
        self._held = []

    def held(self) -> list[Event]:
        """What was published since ``hold()``, handed out once; [] when nothing was held."""
        held, self._held = self._held or [], None
        return held

    def publish(self, events: list[Event]) -> None:
        if not events:
            return
        audit = self._audit
        for event in events:
            self._apply(event)
            if not audit.record(event) and audit.error is not None and not self._audit_warned:
                self._audit_warned = True
                events = [*events, Notice(level="error", message=f"cannot write the audit log {audit.path}: {audit.error.strerror}")]
        if self._held is not None:
            self._held.extend(events)
        for callback in list(self._subscribers):
            try:
                callback(events)
            except Exception as e:  # a broken subscriber must not take the server down
                print(f"debugdash: subscriber failed: {e!r}", file=sys.stderr)
