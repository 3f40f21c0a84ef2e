"""What each kind of event changes on the dashboard, besides the status lines: the app
marks those parts dirty and draws them at most every ``RENDER_INTERVAL``."""

from __future__ import annotations

from debugdash.protocol.events import (
    AccessExpired,
    AccessGranted,
    AccessRefused,
    AccessRevoked,
    AttachClient,
    AttachListening,
    Event,
    Exited,
    LoadError,
    Notice,
    Ready,
    Reload,
    RequestError,
    RequestErrorRepeat,
    Started,
    Stats,
)
from debugdash.protocol.request_events import RequestRecord, RequestRecords, Verified, VerifyOnReload


#: What each kind of event changes on screen, besides the status lines.
REDRAWS: dict[type[Event], tuple[str, ...]] = {
    RequestError: ("errors",),
    RequestErrorRepeat: ("errors",),
    # Ready completes the latest reload's "served in".
    **dict.fromkeys((Reload, LoadError, Ready), ("reloads", "banner", "attach", "errors")),
    **dict.fromkeys((Started, Exited), ("banner", "attach")),
    **dict.fromkeys((AccessGranted, AccessRevoked, AccessExpired), ("access",)),
    **dict.fromkeys((AttachListening, AttachClient), ("attach",)),
    **dict.fromkeys((Stats, Notice), ()),
    AccessRefused: ("access",), RequestRecord: ("requests",),  # the refused inbox; the Requests tab
    RequestRecords: ("requests",),
    Verified: ("errors",), VerifyOnReload: ("requests",),  # "fixed ✓"; the Requests tab says whether it is on
}
