"""`debugdash errors` and `debugdash eval`: the console from another terminal (issue 13).

Both talk to the running session over its control socket, which only the user
who runs it can reach; the session asks the serving process, which holds the
frames. ``cli`` registers them on the `debugdash` group with its own helpers
(one-line errors, ``--port``), passed in so that the two modules do not import
each other.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import click

from debugdash.core.errors import UserInputError
from debugdash.protocol import codec
from debugdash.protocol.console import ErrorGroupInfo, Errors, Eval

#: Seconds the session gives `eval` before it interrupts the evaluation.
DEFAULT_TIMEOUT = 30.0

Decorator = Callable[[Any], Any]


def register(group: click.Group, *, user_errors: Decorator, port_option: Decorator) -> None:
    """Add `errors` and `eval` to ``group``."""

    @group.command()
    @click.option("--json", "as_json", is_flag=True, help="Print the groups as a JSON list.")
    @port_option
    @user_errors
    def errors(as_json: bool, port: int | None) -> None:
        """List the session's error groups, each with its newest occurrence id for `debugdash eval`."""
        _errors(as_json, port)

    @group.command("eval", context_settings={"ignore_unknown_options": True})
    @click.argument("occurrence")
    @click.argument("code", nargs=-1, required=True)
    @click.option("--frame", type=int, default=None, help="Frame number, outermost 0 (default: the innermost frame of the app's code).")
    @click.option("--timeout", type=float, default=DEFAULT_TIMEOUT, show_default=True, help="Seconds before the evaluation is interrupted (0: never).")
    @port_option
    @user_errors
    def eval_(occurrence: str, code: tuple[str, ...], frame: int | None, timeout: float, port: int | None) -> None:
        """Evaluate CODE in a kept frame of OCCURRENCE (an id from `debugdash errors`).

        debugdash eval OCCURRENCE [--frame N] -- CODE

        Prints the output and the value and exits 0; prints the traceback of
        the code and exits 1 when it raises. Names assigned stay for the next
        `eval` in the same frame.
        """
        _eval(occurrence, " ".join(code), frame, timeout, port)


def _errors(as_json: bool, port: int | None) -> None:
    from debugdash.core import control

    groups = control.request(Errors(), port)
    if as_json:
        click.echo(json.dumps([codec.to_plain(g) for g in groups], indent=2))
        return
    if not groups:
        click.echo("no errors yet")
    for group in groups:
        _echo_group(group)


def _echo_group(group: ErrorGroupInfo) -> None:
    message = f": {group.message}" if group.message else ""
    click.echo(f"{group.id}  {group.count}×  {group.type}{message}")
    frames = "frames held" if group.frames_held else "frames released"
    seen = f"first {_clock(group.first_seen)}, last {_clock(group.last_seen)}"
    click.echo(f"    at {group.location or '?'}  ({group.request}; {seen})")
    click.echo(f"    newest occurrence {group.occurrence or '-'} ({frames})")
    for frame in group.frames:
        click.echo(f"      frame {frame}")


def _eval(occurrence: str, source: str, frame: int | None, timeout: float, port: int | None) -> None:
    if timeout < 0:
        raise UserInputError("--timeout must be 0 (never) or a number of seconds, e.g. 30")
    if frame is not None and frame < 0:
        raise UserInputError("--frame counts from 0, the outermost frame")
    from debugdash.core import control

    # The session interrupts the evaluation at ``timeout``; its answer needs a moment more.
    wait = (timeout + 15.0) if timeout else 24 * 3600.0
    result = control.request(Eval(occurrence=occurrence, code=source, frame=frame, timeout=timeout), port, timeout=wait)
    if result.output:
        click.echo(result.output, nl=not result.output.endswith("\n"))
    if result.raised:
        click.echo(result.traceback, nl=not result.traceback.endswith("\n"), err=True)
        raise SystemExit(1)
    if result.value:
        click.echo(result.value)


def _clock(timestamp: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(timestamp))
