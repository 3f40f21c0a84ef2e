"""External attach for one session: the attach port (relay), the hub the
debuggee connects to, and what an IDE user needs to connect (SSH tunnel, VS
Code launch.json).
"""

from __future__ import annotations

import getpass
import json
import socket
from collections.abc import Callable

from debugdash.core.attach_hub import AttachHub
from debugdash.core.attach_relay import AttachRelay
from debugdash.core.settings import Settings
from debugdash.protocol.control import AttachClientInfo, AttachInfo
from debugdash.protocol.events import AttachListening, Event


class AttachSession:
    """The user-facing attach port of a running session, and the hub behind it."""

    def __init__(
        self,
        settings: Settings,
        *,
        server_pids: Callable[[], list[int]],
        allowed: Callable[[str], bool],
        granted: Callable[[str], bool],
        publish: Callable[[Event], None],
    ) -> None:
        self.settings = settings
        self._publish = publish
        self._announced = False
        self.hub = AttachHub(
            debuggee_pids=server_pids,
            publish=publish,
            on_debuggee=self._debuggee_arrived,
        )
        self.relay = AttachRelay(
            settings.host,
            settings.attach_port,
            target=lambda: self.internal_port,
            allowed=allowed,
            granted=granted,
            publish=publish,
            announce=False,
        )

    @property
    def internal_port(self) -> int | None:
        """The hub's port on 127.0.0.1, which the debuggee connects to."""
        return self.hub.port

    async def open(self) -> None:
        """Bind the attach port; UserInputError naming the holder when it is taken."""
        await self.hub.start()
        try:
            await self.relay.start()
        except BaseException:
            await self.hub.stop()
            raise

    def _debuggee_arrived(self) -> None:
        # Only now does a client get an answer: announcing the port earlier
        # sent IDEs to a relay with nothing behind it yet.
        if not self._announced and self.relay.listening:
            self._announced = True
            self._publish(AttachListening(host=self.relay.host, port=self.relay.port))

    async def close(self) -> None:
        """Free the attach port and drop the debuggee's connection (its debugger stops)."""
        await self.relay.stop()
        await self.hub.stop()

    def close_unallowed(self) -> int:
        """Close open connections whose peer no longer may attach (grant expired or revoked)."""
        return self.relay.close_unallowed()

    def help(self) -> AttachInfo:
        settings = self.settings
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
        return AttachInfo(
            port=port,
            internal_port=self.internal_port,
            host=settings.host,
            clients=[AttachClientInfo(peer=peer, since=since) for peer, since in self.relay.clients],
            tunnel=tunnel,
            launch_json=json.dumps(launch, indent=2),
        )
