"""The headless face of the supervisor: events as readable lines, or JSON lines.

``--headless --json`` writes one JSON object per line, each with an ``"event"``
key, for scripts and CI. Without ``--json`` the same events read like a log.
Runs until the server is stopped by a signal (Ctrl-C, SIGTERM, SIGHUP).
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
import time
from typing import IO

from debugdash.protocol.events import (
    AccessExpired,
    AccessGranted,
    AccessRefused,
    AccessRevoked,
    AttachClient,
    AttachListening,
    Event,
    Exited,
    Gate,
    LaunchFailed,
    LoadError,
    log_lines_json,
    Notice,
    Ready,
    Reload,
    RequestError,
    RequestErrorRepeat,
    Started,
    Stats,
    Toggles,
)
from debugdash.protocol.session_events import Evaluated
from debugdash.protocol.observe import CodingAgent
from debugdash.protocol.request_events import ROW_FIELDS, RequestRecord, RequestRecords, Verified, VerifyOnReload
from debugdash.core.supervisor import Supervisor
from debugdash.protocol.text import display_lines
from debugdash.protocol.log_json import log_block_json, masking, plain_block


#: What the server's output lines are indented with in readable mode.
_INDENT = "  | "


class HeadlessPrinter:
    """Writes the supervisor's events and the server's output to a stream."""

    def __init__(self, supervisor: Supervisor, out: IO[str], *, as_json: bool, json_pin: bool = False) -> None:
        self.supervisor = supervisor
        self.out = out
        self.as_json = as_json
        # Readable output shows the PIN only to a person at a terminal, never to
        # a file; JSON output (made for files and pipes) only when asked. The
        # same-user control socket (`debugdash status`) always has it.
        self.show_pin = _isatty(out)
        self.json_pin = json_pin
        # The server's request log holds the PIN a developer typed into the debugger
        # page (the query string of its pinauth request): masked in files too.
        self._pin_forms: set[str] = set()
        self._pin_mask: re.Pattern[bytes] | None = None
        self._pins: re.Pattern[str] | None = None
        self._log_seq = 0
        # Plain output goes to the bytes under ``out`` as it came (see log_json).
        self._bytes_out = _ascii_buffer(out)
        supervisor.subscribe(self.on_events)
        supervisor.logs.listen(self.on_logs)

    def on_events(self, events: list[Event]) -> None:
        for event in events:
            if type(event) is RequestRecords:
                if self.as_json and event.rows:  # the server's own log shows each request otherwise
                    text = "\n".join([_request_line(row) for row in event.rows])
                    self._write(self._pins.sub("[PIN]", text) if self._pins is not None else text)
                continue
            pin = getattr(event, "pin", None)  # ready, and gate when the PIN changed
            if pin and not self._showing_pins():
                self._mask(pin)
            if self.as_json:
                # An error event is written as the agent sent it when that line is already neutral.
                line = self.supervisor.hub.lines.line_of(event) or _json_line(event, self.json_pin)
            elif not isinstance(event, (Stats, Toggles, RequestRecord)):  # the server's own log shows each request
                # A message of several lines is indented, so no line of it reads as a record of ours.
                text = describe(event, show_pin=self.show_pin).replace("\n", "\n          ")
                line = f"{_clock(event.time)} {text}"
            else:
                continue
            # Exited carries the last lines of output, which may hold a typed PIN.
            self._write(self._pins.sub("[PIN]", line) if self._pins is not None else line)
        self._flush()

    def on_logs(self) -> None:
        logs = self.supervisor.logs
        blocks = logs.blocks_since(self._log_seq)
        if blocks and blocks[0][0] > self._log_seq + 1:
            dropped = blocks[0][0] - self._log_seq - 1
            self._write_logs("stderr", [f"[debugdash: {dropped} lines of output not shown]"])
        for _, stream, block, count in blocks:
            if self._bytes_out is not None and self._write_plain(self._bytes_out, stream, block, count):
                continue
            texts = display_lines(block.split(b"\n"))
            if self._pins is not None:
                texts = [self._pins.sub("[PIN]", text) if self._pins.search(text) else text for text in texts]
            self._write_logs(stream, texts)
        self._log_seq = logs.last_seq
        self._flush()

    def _showing_pins(self) -> bool:
        return self.json_pin if self.as_json else self.show_pin

    def _mask(self, pin: str) -> None:
        # Werkzeug also accepts the PIN without its dashes.
        self._pin_forms |= {pin, pin.replace("-", "")}
        self._pin_mask = masking(self._pin_forms)
        self._pins = re.compile("|".join(map(re.escape, sorted(self._pin_forms, key=len, reverse=True))))

    def _write_logs(self, stream: str, texts: list[str]) -> None:
        # One write per batch: a flood of output must cost little per line.
        if self.as_json:
            self._write("".join(log_lines_json(stream, texts, time.time())), newline=False)
        else:
            self._write(_INDENT + ("\n" + _INDENT).join(texts))

    def _write(self, line: str, newline: bool = True) -> None:
        try:
            self.out.write(line + "\n" if newline else line)
        except (BrokenPipeError, ValueError):
            pass

    def _write_plain(self, out: IO[bytes], stream: str, block: bytes, count: int) -> bool:
        """Write a block that needs no cleaning from its bytes; False when it needs cleaning."""
        if self.as_json:
            pieces = log_block_json(stream, block, count, time.time(), unless=self._pin_mask)
        else:
            body = plain_block(block, count, unless=self._pin_mask)
            indent = _INDENT.encode()
            pieces = None if body is None else [indent, body.replace(b"\n", b"\n" + indent), b"\n"]
        if pieces is not None:
            self._write_bytes(out, pieces)
        return pieces is not None

    def _write_bytes(self, out: IO[bytes], pieces: list[bytes]) -> None:
        try:
            self.out.flush()  # text written before must come out first
            if sum(map(len, pieces)) < 65536:
                out.write(b"".join(pieces))  # one system call per small batch, whatever ``out`` buffers
            else:
                for piece in pieces:  # a flood's batch is not copied once more to be glued
                    out.write(piece)
        except (BrokenPipeError, ValueError):
            pass

    def _flush(self) -> None:
        try:
            self.out.flush()
        except (BrokenPipeError, ValueError):
            pass


_dumps = json.JSONEncoder(separators=(",", ":")).encode


def _request_line(row: list) -> str:
    """The ``request`` line of one record: what ``_json_line`` writes for ``record_of(row)``."""
    return '{"event":"request",' + _dumps(dict(zip(ROW_FIELDS, row)))[1:]


def _json_line(event: Event, with_pin: bool) -> str:
    data = event.to_dict()
    if "pin" in data and not with_pin:
        del data["pin"]
    return json.dumps(data, separators=(",", ":"))


def _clock(timestamp: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(timestamp))


def _ascii_buffer(out: IO[str]) -> IO[bytes] | None:
    """The binary stream under ``out`` when ASCII written there reads back as the same text."""
    buffer = getattr(out, "buffer", None)
    try:
        return buffer if buffer is not None and "{}".encode(out.encoding) == b"{}" else None
    except (AttributeError, LookupError, TypeError):
        return None


def _isatty(out: IO[str]) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def describe(event: Event, *, show_pin: bool = False) -> str:
    """One readable line for an event."""
    match event:
        case Started():
            via = f", {event.via}" if event.reason == "reload" else ""
            return f"started   pid {event.pid} ({event.reason}{via})"
        case Ready():
            if not event.debugger:
                debugger = "debugger off"
            elif event.pin and show_pin:
                debugger = f"debugger on, PIN {event.pin}"
            else:
                debugger = "debugger on, PIN in `debugdash status`"
            reloader = f"reloader {event.reloader_type}" if event.reloader else "no reloader"
            return f"ready     {event.url} (pid {event.pid}, {debugger}, {reloader})"
        case RequestError():
            exc = event.exception
            where = exc.raised_at
            at = f" at {where.filename}:{where.lineno} in {where.function}" if where else ""
            streaming = " while streaming" if event.streaming else ""
            return f"error     {event.method} {event.path}{streaming}: {exc.type}: {exc.message}{at}"
        case RequestErrorRepeat():
            streaming = " while streaming" if event.streaming else ""
            message = f": {event.message}" if event.message else ""
            return (
                f"error     {event.method} {event.path}{streaming}: {event.type}{message}"
                f" at {event.filename}:{event.lineno} (again, {event.count} times in pid {event.pid})"
            )
        case LoadError():
            at = f" ({event.filename}:{event.lineno})" if event.filename else ""
            return f"load error {event.message}{at}"
        case Reload():
            return f"reload    {event.filename} changed ({event.reloader})"
        case LaunchFailed():
            return f"crashed   {event.message}"
        case Exited():
            how = "stopped" if event.expected else "crashed"
            return f"exited    pid {event.pid} {how}, code {event.returncode}"
        case Gate() if event.pin:
            shown = f": {event.pin}" if show_pin else " (`debugdash status` shows it)"
            return f"gate      new debugger PIN in pid {event.pid}{shown}"
        case Gate():
            return f"gate      debugger {'open' if event.debugger else 'closed'} in pid {event.pid}"
        case AccessGranted():
            verb = "extended" if event.extended else "granted"
            return f"access    {verb} {event.address} ({', '.join(event.what)}) for {int(event.seconds)}s by {event.user}"
        case AccessRevoked():
            return f"access    revoked {event.address} ({', '.join(event.what)}) by {event.user}"
        case AccessExpired():
            return f"access    expired {event.address} ({', '.join(event.what)})"
        case AccessRefused():
            host = f" with untrusted Host {event.host}" if event.host else ""
            return f"refused   {event.peer} asked for the {event.what}{host} {event.detail}".rstrip()
        case Verified():
            outcome = "fixed ✓" if event.fixed else "still failing"
            return f"verify    {event.error_type} at {event.filename}:{event.lineno}: {outcome} (request {event.request_id} replayed)"
        case VerifyOnReload():
            return f"verify    on reload {'on' if event.on else 'off'}"
        case AttachListening():
            state = "listening on" if event.listening else "closed"
            return f"attach    {state} {event.host}:{event.port}"
        case AttachClient():
            return f"attach    client {event.peer} {event.state}"
        case CodingAgent(state="call"):
            outcome = ("ok" if event.ok else "failed") if event.summary != "refused" else "refused"
            summary = f" ({event.summary})" if event.summary and event.summary != "refused" else ""
            said = " ".join(part for part in (event.client, event.tool, event.arguments, outcome + summary) if part)
            return f"agent     {said}"
        case CodingAgent():
            return f"agent     {event.client} (pid {event.pid}) {event.state}"
        case Notice():
            return f"{event.level:<9} {event.message}"
        case Evaluated():
            code = " ⏎ ".join(event.code.splitlines())
            return f"eval      {event.user} in {event.occurrence} {event.frame}: {code}"
        case Toggles():
            names = ("debug", "debugger", "reloader", "attach")
            return "toggles   " + ", ".join(f"{n} {'on' if getattr(event, n) else 'off'}" for n in names)
        case _:
            return f"{event.name:<9} {json.dumps(event.to_dict())}"


async def run_headless(
    supervisor: Supervisor, *, as_json: bool, json_pin: bool = False, out: IO[str] | None = None
) -> int:
    """Run until a signal asks to stop; returns the exit code."""
    HeadlessPrinter(supervisor, out or sys.stdout, as_json=as_json, json_pin=json_pin)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    try:
        await supervisor.start()
        await stop.wait()
    finally:
        await supervisor.stop()
    return 0
