"""`debugdash requests`, `curl` and `replay`: the session's requests from another terminal."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

import click

from debugdash.protocol import codec
from debugdash.protocol.control import Curl, Replay, Requests, TrustHost
from debugdash.protocol.request_events import RequestRecord

Control = Callable[..., Any]


def add_commands(main: click.Group, control: Control, port_option: Callable, user_errors: Callable) -> None:
    """Add the request commands to ``main``; ``control(request, port)`` asks the running session."""

    @main.command()
    @click.option("--json", "as_json", is_flag=True, help="Print the records as a JSON list.")
    @click.option("--errors", is_flag=True, help="Only requests that raised or answered 5xx.")
    @click.option("-n", "limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many, newest first.")
    @port_option
    @user_errors
    def requests(as_json: bool, errors: bool, limit: int, port: int | None) -> None:
        """List the session's recent requests, newest first (secret values redacted)."""
        records = control(Requests(errors=errors, limit=limit), port)
        if as_json:
            click.echo(json.dumps([codec.to_plain(r) for r in records], indent=2))
            return
        if not records:
            click.echo("no requests yet" if not errors else "no failed requests")
        for record in records:
            click.echo(request_line(record))

    @main.command()
    @click.argument("request_id", metavar="ID", type=click.IntRange(min=1))
    @port_option
    @user_errors
    def curl(request_id: int, port: int | None) -> None:
        """Print a curl command that sends request ID again (secret values redacted)."""
        click.echo(control(Curl(id=request_id), port).text)

    @main.command()
    @click.argument("request_id", metavar="ID", type=click.IntRange(min=1))
    @click.option("--yes", is_flag=True, help="Send a request other than GET, HEAD, OPTIONS (it may change data).")
    @port_option
    @user_errors
    def replay(request_id: int, yes: bool, port: int | None) -> None:
        """Send request ID again from this machine; exit 1 when the answer is a 5xx."""
        result = control(Replay(id=request_id, yes=yes), port, timeout=90.0)
        click.echo(result.status_line())
        if result.raised:
            click.echo("the app raised again: `debugdash requests --errors` lists it")
        sys.exit(1 if result.failed else 0)

    @main.command("trust-host")
    @click.argument("host")
    @port_option
    @user_errors
    def trust_host(host: str, port: int | None) -> None:
        """Let the debugger accept HOST as the Host name, for this session."""
        result = control(TrustHost(host=host), port)
        click.echo(f"the debugger accepts {host} until the session ends ({len(result.hosts)} names trusted)")


def request_line(record: RequestRecord) -> str:
    """One line of `debugdash requests`."""
    target = record.path + (f"?{record.query}" if record.query else "")
    marks = (" raised" if record.error else "") + (" replay" if record.replay else "")
    when = time.strftime("%H:%M:%S", time.localtime(record.time))
    return (
        f"{record.id:>6}  {when}  {record.method:<7} {record.status:>3}  {target}  "
        f"{record.duration * 1000:.0f} ms  {record.size} B  {record.remote_addr}{marks}"
    )
