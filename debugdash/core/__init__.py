"""The engine — the supervisor and its parts, settings, state, the control socket —
with no user interface; it imports protocol, never agent, tui or textual."""
