"""The supervisor's side of a template: start it, ask it to fork a worker, follow
the workers it forked.

A forked worker is the template's child, not ours: its exit code comes from the
template (``exit`` messages), its output through pipes we make and hand over
with the request. ``ForkedProcess`` gives it the face of an asyncio subprocess,
so the rest of the supervisor treats it as any server process.
See ``debugdash.agent.template`` for the other side.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from collections.abc import Callable
from typing import Any

from debugdash.core import process
from debugdash.core.server_process import OutputSink, ServerProcess, read_output

#: Seconds a template may take to preload (pandas on a busy machine takes a few).
BUILD_TIMEOUT = 120.0
#: Seconds to answer a fork request; past it the warm spare serves instead.
FORK_TIMEOUT = 5.0


class ForkedProcess:
    """A worker forked by the template, looking like ``asyncio.subprocess.Process``."""

    stdin = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._exited = asyncio.Event()

    def exited(self, code: int) -> None:
        if self.returncode is None:
            self.returncode = code
        self._exited.set()

    async def wait(self) -> int:
        await self._exited.wait()
        assert self.returncode is not None
        return self.returncode


class Template:
    """One template process and the workers it forked."""

    def __init__(self, server: ServerProcess, sock: socket.socket, key: tuple[Any, ...], on_stale: Callable[[str], None]) -> None:
        self.server = server
        self.key = key
        self._sock = sock
        self._on_stale = on_stale
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.workers: dict[int, ForkedProcess] = {}
        self.ready = asyncio.Event()
        self.ended = asyncio.Event()
        self.stale: str | None = None
        self.excluded: tuple[str, str] | None = None
        self.rss = 0
        self.modules = 0
        self._fork_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        return self.server.pid

    @property
    def usable(self) -> bool:
        return self.ready.is_set() and not self.ended.is_set() and self.stale is None and self.server.running

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_unix_connection(sock=self._sock)
        self._task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self._reader is not None
        try:
            while line := await self._reader.readline():
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                self._handle(message)
        finally:
            self.ended.set()
            self.ready.set()  # nobody waits for a template that is gone
            for worker in list(self.workers.values()):
                # No exit code will come for it: end it ourselves.
                await asyncio.to_thread(process.kill_tree, worker.pid, None, 0.5)
                worker.exited(-9)
            self._replies.put_nowait({"op": "gone"})

    def _handle(self, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "ready":
            self.rss = int(message.get("rss", 0))
            self.modules = int(message.get("modules", 0))
            self.ready.set()
        elif op == "excluded":
            self.excluded = (str(message.get("package")), str(message.get("reason")))
            self.stale = "excluded"
        elif op == "exit":
            worker = self.workers.pop(int(message["pid"]), None)
            if worker is not None:
                worker.exited(int(message["code"]))
        elif op == "stale":
            if self.stale is None:
                self.stale = str(message.get("reason", "stale"))
                self._on_stale(self.stale)
            if message.get("reply"):
                self._replies.put_nowait(message)
        elif op == "forked":
            self._replies.put_nowait(message)

    async def fork(self, env: dict[str, str], cwd: str, fds: dict[str, int], output: OutputSink) -> ServerProcess | None:
        """A new worker forked from the template; None when the template cannot serve one."""
        async with self._fork_lock:
            if not self.usable or self._writer is None:
                return None
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            names = sorted(fds)
            message = {"op": "fork", "env": env, "cwd": cwd, "fds": names}
            data = json.dumps(message).encode() + b"\n"
            try:
                sent = await asyncio.to_thread(socket.send_fds, self._sock, [data], [out_w, err_w, *(fds[n] for n in names)])
                if sent != len(data):
                    raise OSError("the fork request did not fit the socket buffer")
            except OSError:
                for fd in (out_r, err_r):
                    os.close(fd)
                return None
            finally:
                for fd in (out_w, err_w):
                    os.close(fd)
            try:
                reply = await asyncio.wait_for(self._replies.get(), FORK_TIMEOUT)
            except asyncio.TimeoutError:
                # A late answer must never be taken for the next request's: this template is done.
                reply = {"op": "timeout", "reason": "no answer to a fork request"}
                self.stale = reply["reason"]
                asyncio.ensure_future(self.end())
            if reply.get("op") != "forked":
                for fd in (out_r, err_r):
                    os.close(fd)
                if self.stale is None:
                    self.stale = str(reply.get("reason", reply.get("op")))
                return None
            worker = ForkedProcess(int(reply["pid"]))
            self.workers[worker.pid] = worker
            pumps = [read_output(out_r, "stdout", output), read_output(err_r, "stderr", output)]
            return ServerProcess(worker, pumps, self.key)  # type: ignore[arg-type]

    async def retire(self) -> None:
        """No more forks; the template ends once its last worker has."""
        if self._writer is not None and not self.ended.is_set():
            with contextlib.suppress(OSError, RuntimeError):
                self._writer.write(b'{"op": "retire"}\n')
                await self._writer.drain()

    async def end(self) -> None:
        """End the template's whole tree now (its workers included)."""
        if self.server.running:
            await asyncio.to_thread(process.kill_tree, self.server.pid, None, 0.5)
        self.close()

    def kill_now(self) -> None:
        if self.server.running:
            process.kill_tree(self.server.pid, None, grace=0.5)
        self.close()

    def close(self) -> None:
        self.server.stop_pumps()
        if self._writer is not None:
            self._writer.close()
        if self._task is not None:
            self._task.cancel()
