"""What every part of debugdash says to another: events, agent commands, control
requests, their one codec, the agent's environment variables, peer addresses and
the clock; standard library only, it imports nothing else of debugdash."""
