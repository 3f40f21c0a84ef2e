"""What every part of debugdash says to another: events, agent commands, control
requests, their one codec, the agent's environment variables, peer addresses and
the clock; standard library only, it imports nothing else of debugdash."""

# Every event class registers with the codec when its module is imported; the
# modules beside ``events`` are imported here, so whoever decodes knows them all.
from debugdash.protocol import request_events, session_events  # noqa: E402,F401
