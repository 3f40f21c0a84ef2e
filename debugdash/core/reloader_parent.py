"""Being the reloader's parent: the listening socket held across workers, and a
warm spare worker.

With the reloader on, debugdash itself is the reloader's parent: it holds the
listening socket (so the port never closes between workers), starts each
worker with WERKZEUG_RUN_MAIN set, starts the next one when a worker exits with
code 3, and keeps a warm spare worker that has already imported Flask and
Werkzeug, so a reload only imports the app. Werkzeug's own parent process
would cost an interpreter and an import of the app.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from debugdash.core import process
from debugdash.core.server_process import ServerProcess


class ReloaderParent:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        spawn_spare: Callable[[], Awaitable[ServerProcess]],
        spare_key: Callable[[], tuple[Any, ...]],
    ) -> None:
        self.host = host
        self.port = port
        self._spawn_spare = spawn_spare
        self._spare_key = spare_key
        self._listener: socket.socket | None = None
        self.spare: ServerProcess | None = None

    def open_listener(self) -> socket.socket:
        if self._listener is None:
            self._listener = _listen(self.host, self.port)
        return self._listener

    def close_listener(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    async def start_spare(self) -> None:
        if self.spare is not None:
            return
        try:
            self.spare = await self._spawn_spare()
        except OSError:
            self.spare = None

    async def activate_spare(self) -> ServerProcess | None:
        """The warm spare, told to become the worker; None when there is no usable one."""
        spare, self.spare = self.spare, None
        if spare is None:
            return None
        if spare.running and spare.key == self._spare_key() and spare.proc.stdin is not None:
            try:
                spare.proc.stdin.write(b"go\n")
                await spare.proc.stdin.drain()
                return spare
            except (OSError, RuntimeError):
                pass
        await _end(spare)
        return None

    async def discard_spare(self) -> None:
        spare, self.spare = self.spare, None
        if spare is not None:
            await _end(spare)

    def kill_now(self) -> None:
        """Synchronous last resort: end the spare and close the socket."""
        if self.spare is not None and self.spare.running:
            process.kill_tree(self.spare.pid, None, grace=0.5)
        self.close_listener()


async def _end(spare: ServerProcess) -> None:
    if spare.running:
        await asyncio.to_thread(process.kill_tree, spare.pid, None, 0.5)
    spare.stop_pumps()


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket as Werkzeug's server makes one, for workers to inherit."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(infos[0][4])
        sock.listen(128)  # werkzeug.serving.LISTEN_QUEUE
        # Not inheritable: pass_fds hands it to each worker, and to nobody else.
    except OSError:
        sock.close()
        raise
    return sock
