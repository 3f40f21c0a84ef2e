"""What `debugdash mcp` refuses on purpose, and the command the human would run instead.

Access to a debugger is a human decision in debugdash: who may reach it, for
how long, and its PIN. A coding agent works with what the session shows, and can
narrow access (turn the debugger off), never widen it. Each refusal names the
command, so the agent can ask its human in one sentence.
"""

from __future__ import annotations

import shlex

HUMAN = "refused: debugdash keeps access to the debugger with the human, never with a coding agent. "


def grant(address: str, minutes: float | None, what: str | None) -> str:
    ttl = f"{minutes:g}m" if minutes else "15m"
    command = f"debugdash allow {shlex.quote(address or 'ADDRESS')} --for {ttl}"
    if what and what != "debugger":
        command += f" --what {shlex.quote(what)}"
    return HUMAN + f"If access is needed, ask the human to run: {command}"


def revoke(address: str | None) -> str:
    target = shlex.quote(address) if address else "--all"
    return HUMAN + f"Ask the human to run: debugdash revoke {target}"


def pin() -> str:
    return HUMAN + (
        "The PIN unlocks the interactive debugger for whoever holds it; the human reads it with "
        "`debugdash status`. To look at a failure, use the error tool (frames, source, locals)."
    )


def new_pin() -> str:
    return HUMAN + "Ask the human to run: debugdash new-pin"


#: Switch changes an agent may make: none of them lets anyone reach a debugger who could not before.
ALLOWED_TOGGLES = {("debugger", False), ("reloader", True), ("reloader", False), ("debug", False)}

_WHY = {
    "debugger": "turning the debugger on opens the interactive console to the allowed addresses",
    "attach": "attach opens a debugpy port (and turning it off turns the debugger back on)",
    "debug": "debug mode turns the debugger back on",
}


def toggle(name: str, on: bool) -> str | None:
    """Why ``name`` may not be set to ``on`` by an agent, with the human's command; None when it may."""
    if (name, on) in ALLOWED_TOGGLES:
        return None
    state = "on" if on else "off"
    why = _WHY.get(name, "it widens access")
    return HUMAN + f"{why[0].upper()}{why[1:]}. Ask the human to run: debugdash toggle {name} {state}"
