"""The `debugdash` command: run (the default), demo, and the control subcommands
that steer a running session from another terminal.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from debugdash import __version__
from debugdash.core.errors import UserInputError
from debugdash.protocol import codec
from debugdash.protocol.control import Allow, NewPin, Request, Restart, Revoke, SessionStatus, Status, Toggle
from debugdash.cli_requests import add_commands as add_request_commands

F = Callable[..., Any]


class _DefaultToRun(click.Group):
    """`debugdash --app x` means `debugdash run --app x`, like the contract says.

    As in `flask run`, `-h` names the host (`debugdash -h 0.0.0.0`); alone it
    still asks for help. The help shows the run options too, since running is
    what the bare command does.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        asks_help = args in (["-h"], ["--help"], ["--version"])
        if not args or (args[0] not in self.commands and not asks_help):
            args = ["run", *args]
        return super().parse_args(ctx, args)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        run_command = self.commands["run"]
        with click.Context(run_command, info_name="run", parent=ctx) as run_ctx:
            rows = [
                row for p in run_command.get_params(run_ctx)
                if isinstance(p, click.Option) and "--help" not in p.opts and (row := p.get_help_record(run_ctx))
            ]
        with formatter.section("Run options (the default command)"):
            formatter.write_dl(rows)
        super().format_options(ctx, formatter)


def _user_errors(func: F) -> F:
    """Bad input from the user: one line naming the fix, exit code 2, no traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UserInputError as e:
            click.echo(f"Error: {e}", err=True)
            sys.exit(2)

    return wrapper


@click.group(cls=_DefaultToRun, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="debugdash")
def main() -> None:
    """Run the Flask development server behind a live dashboard.

    `debugdash --app myapp` instead of `flask --app myapp run --debug`.
    """


# The PIN stays out of JSON output by default: it is made to be redirected to
# files, which other users may read. `debugdash status` always shows it.
_json_pin_option = click.option(
    "--json-pin", is_flag=True, help="With --json: include the debugger PIN in `ready` (default: only `debugdash status` shows it)."
)


def _run_options(func: F, *, app: bool = True) -> F:
    """The options of `run`; ``app=False`` leaves out the choice of app (for `demo`)."""
    options = [
        click.option("--app", help="The Flask app, as for `flask --app` (module, module:name, 'pkg:create_app()')."),
        click.option("--script", type=click.Path(path_type=Path), help="A file that calls app.run() itself."),
    ] if app else []
    options += [
        click.option("-h", "--host", help="Address to bind (default 127.0.0.1)."),
        click.option("-p", "--port", help="Port to bind (default 5000)."),
        click.option("--cert", help="TLS certificate file, or 'adhoc', as for `flask run --cert`."),
        click.option("--key", help="TLS key file, with --cert."),
        click.option("--debug/--no-debug", default=None, help="Flask debug mode (default on)."),
        click.option("--debugger/--no-debugger", default=None, help="The interactive debugger (default on, local only)."),
        click.option("--reload/--no-reload", default=None, help="The reloader (default on)."),
        click.option("--attach/--no-attach", default=None, help="External debugger attach with debugpy (default off)."),
        click.option("--attach-port", help="Port for IDE attach (default 5678)."),
        click.option("--attach-keep-debugger", is_flag=True, default=None, help="Keep the built-in debugger on while attach is on."),
        click.option("--attach-keep-reloader", is_flag=True, default=None, help="No effect: attach keeps the reloader on (the IDE stays attached across reloads)."),
        click.option("--allow", multiple=True, metavar="ADDR", help="Grant ADDR debugger access at start (repeatable)."),
        click.option("--ttl", help="How long --allow grants last (default 15m; e.g. 90s, 2h, 1h30m)."),
        click.option("--wide", is_flag=True, default=None, help="Allow granting networks wider than /24 or /64."),
        click.option("--trusted-host", "trusted_hosts", multiple=True, help="Extra Host names the debugger accepts."),
        click.option("--python", help="The app's interpreter (default: the active virtualenv's)."),
        click.option("--mcp-allow-eval", is_flag=True, default=None, help="Let `debugdash mcp` evaluate code in kept frames (eval tool)."),
        click.option("--mcp-allow-unsafe-replay", is_flag=True, default=None, help="Let `debugdash mcp` replay requests other than GET/HEAD."),
        click.option("--keep-frames", help="Failing requests whose frames the console keeps (default 20; 0: none)."),
        click.option("--headless", is_flag=True, help="No dashboard: print events to stdout."),
        click.option("--json", "as_json", is_flag=True, help="With --headless: one JSON object per line."),
        _json_pin_option,
        click.argument("extra_args", nargs=-1, type=click.UNPROCESSED),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@main.command(context_settings={"ignore_unknown_options": False, "help_option_names": ["--help"]})
@_run_options
@_user_errors
def run(headless: bool, as_json: bool, json_pin: bool, **options: Any) -> None:
    """Run the app's development server under debugdash (the default command)."""
    from debugdash.core.settings import resolve

    _check_output(headless, as_json, json_pin)
    settings = resolve(options)
    sys.exit(_serve(settings, headless=headless, as_json=as_json, json_pin=json_pin))


@main.command(context_settings={"help_option_names": ["--help"]})
@functools.partial(_run_options, app=False)
@_user_errors
def demo(headless: bool, as_json: bool, json_pin: bool, **options: Any) -> None:
    """Run the bundled demo app, whose routes fail in instructive ways."""
    from debugdash.core.settings import resolve

    _check_output(headless, as_json, json_pin)
    demo_dir = Path(__file__).parent / "demo"
    # Run from its folder as plain `app`, so tracebacks and the reloader see the real file.
    settings = resolve({**options, "app": "app:app"}, cwd=demo_dir)
    sys.exit(_serve(settings, headless=headless, as_json=as_json, json_pin=json_pin))


def _check_output(headless: bool, as_json: bool, json_pin: bool) -> None:
    if as_json and not headless:
        raise UserInputError("--json goes with --headless")
    if json_pin and not as_json:
        raise UserInputError("--json-pin goes with --headless --json")


def _serve(settings: Any, *, headless: bool, as_json: bool, json_pin: bool = False) -> int:
    from debugdash.core import prestart, process
    from debugdash.core.runtime import runtime_base
    from debugdash.core.supervisor import Supervisor

    # Fail before any screen appears, with one line, when we cannot start at all.
    if not headless and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UserInputError("the dashboard needs a terminal; without one, use --headless (and --json for JSON lines)")
    runtime_base()
    if settings.port_given:  # script mode without --port: the script picks its port
        process.check_port_free(settings.host, settings.port)
    # Orphans of the server's tree come to us, not init, so stopping finds them all.
    process.become_subreaper()
    supervisor = Supervisor(settings)
    # The server's interpreter the command's first lines started (debugdash.launch), if any.
    supervisor.life.use_prestart(prestart.take())
    try:
        if headless:
            from debugdash.headless import run_headless

            return asyncio.run(run_headless(supervisor, as_json=as_json, json_pin=json_pin))
        return asyncio.run(_dashboard(supervisor))
    finally:
        supervisor.kill_now()
        process.end_descendants()


async def _dashboard(supervisor: Any) -> int:
    """Launch the server, and build the dashboard while it starts.

    Importing Textual and the dashboard takes longer than starting a small app:
    the import runs in a thread while the loop launches the server and answers
    its agent. The dashboard gets what was published before it subscribed, and
    the start's outcome (its own ``start()`` waits for this one).
    """
    supervisor.hold_events()
    launching = asyncio.ensure_future(supervisor.start())
    # Its error, if any, is the dashboard's to show: not "never retrieved".
    launching.add_done_callback(lambda task: task.cancelled() or task.exception())
    module = await asyncio.to_thread(importlib.import_module, "debugdash.tui.app")
    await module.DashboardApp(supervisor).run_async()
    return 0


# --- control subcommands ---------------------------------------------------------

_port_option = click.option("--port", type=int, help="The session's server port, when several run.")


def _control(message: Request, port: int | None, timeout: float = 30.0) -> Any:
    from debugdash.core import control

    return control.request(message, port, timeout=timeout)


@main.command()
@click.argument("address")
@click.option("--for", "ttl", default=None, help="How long (default 15m, at most 8h): 90s, 15m, 2h, 1h30m.")
@click.option("--what", type=click.Choice(["debugger", "attach", "both"]), default="debugger", show_default=True)
@click.option("--wide", is_flag=True, help="Allow networks wider than /24 (IPv4) or /64 (IPv6).")
@_port_option
@_user_errors
def allow(address: str, ttl: str | None, what: str, wide: bool, port: int | None) -> None:
    """Grant ADDRESS access to the debugger (or attach) for a while."""
    from debugdash.core.allowlist import parse_duration, parse_network

    # Validate here too, so a typo fails even when no session runs.
    parse_network(address, wide=wide)
    if ttl is not None:
        parse_duration(ttl)
    entry = _control(Allow(address=address, ttl=ttl, what=what, wide=wide), port)
    click.echo(f"{entry.network} may reach the {' and '.join(entry.what)} for {_duration(entry.seconds_left)}")


@main.command()
@click.argument("address", required=False)
@click.option("--all", "all_", is_flag=True, help="Revoke every grant.")
@_port_option
@_user_errors
def revoke(address: str | None, all_: bool, port: int | None) -> None:
    """Remove ADDRESS's access now (or everyone's, with --all)."""
    if bool(address) == all_:
        raise UserInputError("give an ADDRESS or --all")
    entries = _control(Revoke(address=address, all=all_), port)
    if not entries:
        click.echo("no grants to revoke")
    for entry in entries:
        click.echo(f"revoked {entry.network}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the whole status as JSON.")
@_port_option
@_user_errors
def status(as_json: bool, port: int | None) -> None:
    """Show the running session: URL, PIN, toggles, grants with time left.

    Without --port and with several sessions running, show each (--json: a list).
    """
    from debugdash.core import control

    every = [control.request(Status(), port)] if port is not None else control.request_each(Status())
    if as_json:
        shown = [codec.to_plain(s) for s in every]
        click.echo(json.dumps(shown[0] if len(shown) == 1 else shown, indent=2, sort_keys=True))
        return
    for index, data in enumerate(every):
        if index:
            click.echo()
        _echo_status(data)


def _echo_status(status: SessionStatus) -> None:
    toggles = codec.to_plain(status.toggles)
    click.echo(f"{status.app}  {status.url}  {status.phase}  pid {status.pid}")
    click.echo("  " + "  ".join(f"{name} {'on' if on else 'off'}" for name, on in toggles.items()))
    if status.pin and status.toggles.debugger:
        click.echo(f"  debugger PIN {status.pin}")
    if not status.grants:
        click.echo("  remote access: none (grant with `debugdash allow ADDR --for 15m`)")
    for grant in status.grants:
        click.echo(f"  remote access: {grant.network} ({', '.join(grant.what)}) {_duration(grant.seconds_left)} left")
    if status.attach:
        click.echo(f"  attach: port {status.attach.port}  tunnel: {status.attach.tunnel}")
    if status.audit_log:
        click.echo(f"  audit log: {status.audit_log}")
    if status.requests is not None and status.error_groups is not None:
        groups = status.error_groups
        click.echo(f"  requests: {status.requests.total} ({status.requests.failed} failed); "
                   f"error groups: {groups.open} open, {groups.fixed} fixed ✓")


@main.command()
@_port_option
@_user_errors
def restart(port: int | None) -> None:
    """Restart the server of the running session."""
    _control(Restart(), port)
    click.echo("restarted")


@main.command("new-pin")
@_port_option
@_user_errors
def new_pin(port: int | None) -> None:
    """Give the debugger a new PIN: every browser that unlocked it must unlock again."""
    result = _control(NewPin(), port)
    click.echo(f"debugger PIN {result.pin}")


@main.command()
@click.argument("name", type=click.Choice(["debugger", "reloader", "attach", "debug"]))
@click.argument("state", type=click.Choice(["on", "off"]), required=False)
@_port_option
@_user_errors
def toggle(name: str, state: str | None, port: int | None) -> None:
    """Flip a switch of the running session (or set it: on/off)."""
    result = _control(Toggle(name=name, state=None if state is None else state == "on"), port)
    click.echo(f"{result.name} {'on' if result.on else 'off'}")


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.999)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


@main.command("mcp")
@_port_option
@_user_errors
def mcp_server(port: int | None) -> None:
    """Serve the running session to a coding agent (Model Context Protocol over stdio).

    Needs the extra: pip install 'debugdash[mcp]'. Register it in the agent's
    client as the command `debugdash mcp`; see the README.
    """
    from debugdash.mcp.launch import serve

    serve(port)


# `debugdash requests`, `curl` and `replay` (issue 12), `errors` and `eval` (issue 13) live beside this module.
add_request_commands(main, _control, _port_option, _user_errors)
# `debugdash errors` and `debugdash eval` live beside this module (issue 13).
from debugdash import cli_console  # noqa: E402

cli_console.register(main, user_errors=_user_errors, port_option=_port_option)
