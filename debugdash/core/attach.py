"""External attach for one session: the relay port, the internal debugpy port,
and what an IDE user needs to connect (SSH tunnel, VS Code launch.json).
"""

from __future__ import annotations

import asyncio
import getpass
import json
import socket
from typing import TYPE_CHECKING, Any

from debugdash.agent.attach import stop_adapter
from debugdash.core.attach_relay import AttachRelay

if TYPE_CHECKING:
    from debugdash.core.supervisor import Supervisor


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AttachSession:
    """The user-facing attach port of a running session."""

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor
        settings = supervisor.settings
        self.internal_port = free_loopback_port()
        self.relay = AttachRelay(
            settings.host,
            settings.attach_port,
            target=lambda: self.internal_port,
            allowed=supervisor.allows_attach,
            granted=lambda peer: supervisor.allowlist.allows(peer, "attach"),
            publish=supervisor.publish_one,
        )

    async def open(self) -> None:
        """Bind the attach port; UserInputError naming the holder when it is taken."""
        await self.relay.start()
        self.supervisor._attach_internal_port = self.internal_port

    async def close(self) -> None:
        """Free the attach port and end debugpy's adapter (it escapes the server's process group)."""
        self.supervisor._attach_internal_port = None
        await self.relay.stop()
        await asyncio.to_thread(stop_adapter, self.internal_port)

    def close_unallowed(self) -> int:
        """Close open connections whose peer no longer may attach (grant expired or revoked)."""
        return self.relay.close_unallowed()

    def help(self) -> dict[str, Any]:
        settings = self.supervisor.settings
        port = self.relay.port
        host = socket.gethostname()
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "you"
        if settings.binds_network:
            connect_host = settings.host if settings.host not in ("0.0.0.0", "::") else host
            tunnel = f"ssh -N -L {port}:127.0.0.1:{port} {user}@{host}   # or connect to {connect_host}:{port} directly once granted"
        else:
            tunnel = f"ssh -N -L {port}:127.0.0.1:{port} {user}@{host}"
        launch = {
            "name": f"Attach to {settings.app_label} (debugdash)",
            "type": "debugpy",
            "request": "attach",
            "connect": {"host": "localhost", "port": port},
            "pathMappings": [{"localRoot": "${workspaceFolder}", "remoteRoot": str(settings.cwd)}],
            "justMyCode": True,
        }
        return {
            "port": port,
            "internal_port": self.internal_port,
            "host": settings.host,
            "clients": [{"peer": peer, "since": since} for peer, since in self.relay.clients],
            "tunnel": tunnel,
            "launch_json": json.dumps(launch, indent=2),
        }
