"""What to run and how: settings resolved from Flask's environment, the
project's pyproject.toml and the command line, in that order of precedence
(later wins), and validated before anything starts.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from debugdash.core import envfiles
from debugdash.core.errors import UserInputError
from debugdash.core.interpreter import default_python, given_python
from debugdash.protocol.records import dataclass, field  # dataclasses.dataclass, cheaper to create

DEFAULT_PORT = 5000
DEFAULT_ATTACH_PORT = 5678
DEFAULT_TTL = 15 * 60

#: Keys accepted in [tool.debugdash], with the type each must have.
_PYPROJECT_KEYS: dict[str, type] = {
    "app": str,
    "script": str,
    "host": str,
    "port": int,
    "debug": bool,
    "debugger": bool,
    "reload": bool,
    "attach": bool,
    "attach-port": int,
    "attach-keep-debugger": bool,
    "attach-keep-reloader": bool,
    "ttl": str,
    "python": str,
    "cert": str,
    "key": str,
    "trusted-hosts": list,
    "allow": list,
    "keep-frames": int,
    "verify-on-reload": bool,
}
#: How a type reads in "must be ..." messages.
_KINDS = {str: "a string", int: "an integer", bool: "true or false", list: "a list of strings"}
_PYPROJECT_LABEL = "pyproject.toml [tool.debugdash]"

#: `flask run` options that, after `--`, would override what debugdash set and
#: checked (a server on 0.0.0.0 while the dashboard says 127.0.0.1), with the
#: debugdash option to use instead.
_OVERRIDING_FLASK_OPTIONS = {
    "--host": "--host", "-h": "--host", "--port": "--port", "-p": "--port",
    "--reload": "--reload/--no-reload", "--no-reload": "--reload/--no-reload",
    "--debugger": "--debugger/--no-debugger", "--no-debugger": "--debugger/--no-debugger",
}


@dataclass
class Settings:
    """Everything the supervisor needs to start and steer one server."""

    app: str | None = None
    script: Path | None = None
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    debug: bool = True
    debugger: bool = True
    reload: bool = True
    attach: bool = False
    attach_port: int = DEFAULT_ATTACH_PORT
    attach_keep_debugger: bool = False
    attach_keep_reloader: bool = False
    #: Addresses (or networks) granted at start, with ``ttl`` seconds each.
    allow: list[str] = field(default_factory=list)
    ttl: float = DEFAULT_TTL
    wide: bool = False
    python: str = sys.executable
    trusted_hosts: list[str] = field(default_factory=list)
    extra_args: list[str] = field(default_factory=list)
    #: TLS as for `flask run --cert/--key` (a certificate file, or "adhoc").
    cert: str | None = None
    key: str | None = None
    #: Replay failing GET/HEAD requests from this machine after each reload (``v`` flips it).
    verify_on_reload: bool = True
    cwd: Path = field(default_factory=Path.cwd)
    #: Variables from .flaskenv/.env, passed to the server like Flask would.
    env: dict[str, str] = field(default_factory=dict)
    #: Failing requests whose live frames the console can use (the newest ones; 0: none).
    keep_frames: int = 20
    #: True when the port came from the user (script mode otherwise keeps the script's own).
    port_given: bool = True
    #: What a coding agent's `debugdash mcp` may do beyond reading (issue 17). Command line
    #: only, never pyproject.toml: the agent edits the project's files.
    mcp_allow_eval: bool = False
    mcp_allow_unsafe_replay: bool = False
    #: Where each value that did not come from the defaults was set, for messages
    #: ("pyproject.toml [tool.debugdash] port", "FLASK_RUN_HOST", "--host").
    sources: dict[str, str] = field(default_factory=dict, repr=False)

    def source(self, name: str) -> str:
        """The option, variable or file entry that set ``name`` (the command-line option by default)."""
        return self.sources.get(name) or "--" + name.replace("_", "-")

    @property
    def app_label(self) -> str:
        """A short name for the app, for titles."""
        if self.script is not None:
            return self.script.name
        return self.app or "app"

    @property
    def url(self) -> str:
        host = self.host
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1" if host == "0.0.0.0" else "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"{'https' if self.cert else 'http'}://{host}:{self.port}"

    @property
    def binds_network(self) -> bool:
        """True when the server is reachable from other machines."""
        try:
            return not ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return self.host != "localhost"

    @classmethod
    def for_tests(cls, **overrides: Any) -> Settings:
        """Settings with the given fields, skipping discovery; for tests and embedding."""
        return cls(**overrides)


def resolve(
    cli: Mapping[str, Any],
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build Settings from Flask's environment, pyproject.toml, then ``cli``.

    ``cli`` holds only the options the user actually gave (None or absent for the
    rest), keyed by Settings field names. Raises UserInputError for bad input.
    """
    cwd = (cwd or Path.cwd()).resolve()
    environ = dict(os.environ if environ is None else environ)
    pyproject = _from_pyproject(cwd)
    # The app's interpreter first: it is the one that reads .env and .flaskenv.
    if cli.get("python") is not None:
        python = given_python(cli["python"], "--python", cwd, environ)
    elif "python" in pyproject:
        python = given_python(pyproject["python"], f"{_PYPROJECT_LABEL} python", cwd, environ)
    else:
        python = default_python(environ)
    dotenv = envfiles.load(python, cwd, environ)
    merged_env = {**dotenv, **environ}

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for found, label in (
        (_from_flask_env(merged_env), None),
        (pyproject, _PYPROJECT_LABEL),
        ({k: v for k, v in cli.items() if v is not None and v != () and v != []}, ""),
    ):
        values.update(found)
        for key in found:
            sources[key] = _FLASK_ENV_NAMES.get(key, "") if label is None else (f"{label} {key.replace('_', '-')}" if label else "")

    settings = Settings(cwd=cwd, env=dotenv)
    settings.sources = {k: v for k, v in sources.items() if v}
    port_given = "port" in values
    for key, value in values.items():
        setattr(settings, key, value)
    settings.port_given = port_given or settings.script is None
    if "debugger" not in values:
        # As with `flask run`: the debugger follows debug mode unless given itself.
        settings.debugger = settings.debug

    from debugdash.core.allowlist import parse_duration, parse_network

    if isinstance(settings.ttl, str):
        if settings.ttl.strip().strip("0") == "" and settings.ttl.strip():
            raise UserInputError(f"{settings.source('ttl')} {settings.ttl} must be positive, e.g. 15m")
        settings.ttl = _from(settings, "ttl", parse_duration, settings.ttl)
    settings.allow = list(settings.allow)
    for address in settings.allow:
        _from(settings, "allow", lambda a: parse_network(a, wide=settings.wide), address)
    settings.python = python
    _validate(settings, merged_env)
    return settings


_FLASK_ENV_NAMES = {
    "app": "FLASK_APP", "host": "FLASK_RUN_HOST", "port": "FLASK_RUN_PORT", "debug": "FLASK_DEBUG",
    "reload": "FLASK_RUN_RELOAD", "debugger": "FLASK_RUN_DEBUGGER",
}


def _from(settings: Settings, name: str, parse: Any, value: Any) -> Any:
    """``parse(value)``, with the value's source named in front of its error."""
    try:
        return parse(value)
    except UserInputError as e:
        raise UserInputError(f"{settings.source(name)}: {e}") from None


def _from_flask_env(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if env.get("FLASK_APP"):
        values["app"] = env["FLASK_APP"]
    if env.get("FLASK_RUN_HOST"):
        values["host"] = env["FLASK_RUN_HOST"]
    if env.get("FLASK_RUN_PORT"):
        values["port"] = _port(env["FLASK_RUN_PORT"], "FLASK_RUN_PORT")
    if env.get("FLASK_DEBUG"):
        values["debug"] = env["FLASK_DEBUG"].lower() not in ("0", "false", "no")
    if env.get("FLASK_RUN_RELOAD"):
        values["reload"] = env["FLASK_RUN_RELOAD"].lower() not in ("0", "false", "no")
    if env.get("FLASK_RUN_DEBUGGER"):
        values["debugger"] = env["FLASK_RUN_DEBUGGER"].lower() not in ("0", "false", "no")
    return values


def _from_pyproject(cwd: Path) -> dict[str, Any]:
    path = cwd / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as f:
            document = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise UserInputError(f"{path} is not valid TOML ({e}); fix the file or remove [tool.debugdash]") from None
    except UnicodeDecodeError as e:
        raise UserInputError(f"{path} is not valid UTF-8 (byte {e.object[e.start]:#04x} at offset {e.start}); save it as UTF-8") from None
    except OSError as e:
        raise UserInputError(f"cannot read {path} ({e.strerror}); fix its permissions or remove it") from None
    tool = document.get("tool", {})
    if not isinstance(tool, dict):
        raise UserInputError(f"pyproject.toml tool must be a table ([tool.debugdash] ...), not {tool!r}; fix {path}")
    table = tool.get("debugdash", {})
    if not isinstance(table, dict):
        raise UserInputError(f"{_PYPROJECT_LABEL} must be a table, not {table!r}; fix {path}")
    values: dict[str, Any] = {}
    for key, value in table.items():
        expected = _PYPROJECT_KEYS.get(key)
        if expected is None:
            known = ", ".join(sorted(_PYPROJECT_KEYS))
            raise UserInputError(f"unknown key {key!r} in {_PYPROJECT_LABEL} of {path}; known keys: {known}")
        wrong = not isinstance(value, expected) or (expected is int and isinstance(value, bool))
        if expected is list and not wrong:
            wrong = not all(isinstance(item, str) for item in value)
        if wrong:
            raise UserInputError(f"{_PYPROJECT_LABEL} {key} must be {_KINDS[expected]}, not {value!r}; fix {path}")
        values[key.replace("-", "_")] = value
    for key in ("port", "attach_port"):
        if key in values:
            values[key] = _port(values[key], f"{_PYPROJECT_LABEL} {key.replace('_', '-')}")
    if "script" in values:
        values["script"] = Path(values["script"])
    return values


def _port(value: Any, what: str) -> int:
    try:
        port = int(str(value).strip(), 10)
    except ValueError:
        raise UserInputError(f"{what} must be an integer from 1 to 65535, not {value!r}") from None
    if not 0 < port < 65536:
        raise UserInputError(f"{what} {value} is out of range; use a number from 1 to 65535")
    return port


def _keep_frames(value: Any, what: str) -> int:
    try:
        count = int(str(value).strip(), 10)
    except ValueError:
        raise UserInputError(f"{what} must be a whole number of failing requests, e.g. 20 (0 keeps none), not {value!r}") from None
    if not 0 <= count <= MAX_KEEP_FRAMES:
        raise UserInputError(f"{what} {value} is out of range; use a number from 0 to {MAX_KEEP_FRAMES}")
    return count


#: More kept frames hold more of the app's memory alive; a thousand is already a lot.
MAX_KEEP_FRAMES = 1000


def _validate(settings: Settings, env: Mapping[str, str]) -> None:
    settings.keep_frames = _keep_frames(settings.keep_frames, settings.source("keep_frames"))
    settings.port = _port(settings.port, settings.source("port"))
    settings.attach_port = _port(settings.attach_port, settings.source("attach_port"))
    if settings.attach_port == settings.port:
        raise UserInputError(
            f"{settings.source('attach_port')} {settings.attach_port} is also the server's port; "
            f"choose another attach port, e.g. --attach-port {DEFAULT_ATTACH_PORT if settings.port != DEFAULT_ATTACH_PORT else DEFAULT_ATTACH_PORT + 1}"
        )
    if settings.app and settings.script:
        where = f" (from {settings.source('app')} and {settings.source('script')})" if settings.sources.keys() & {"app", "script"} else ""
        raise UserInputError(f"give --app or --script, not both{where}")
    if settings.script is not None:
        script = settings.script if settings.script.is_absolute() else settings.cwd / settings.script
        if not script.is_file():
            raise UserInputError(f"{settings.source('script')} {settings.script}: no such file; give the path of the file that calls app.run()")
        settings.script = script
    elif not settings.app and not any((settings.cwd / name).is_file() for name in ("wsgi.py", "app.py")):
        raise UserInputError(
            "no app found: pass --app module or --script file.py, set FLASK_APP, "
            "or run from the folder holding app.py or wsgi.py"
        )
    if settings.script is None:
        _refuse_overrides(settings.extra_args)
    try:
        ipaddress.ip_address(settings.host)
    except ValueError:
        if settings.host != "localhost":
            raise UserInputError(
                f"{settings.source('host')} {settings.host!r} is not an IP address; use 127.0.0.1, 0.0.0.0 or this machine's address"
            ) from None
    if settings.script is not None and (settings.cert or settings.key):
        raise UserInputError("--cert/--key are for --app; a --script passes ssl_context to app.run() itself")
    if settings.key and not settings.cert:
        raise UserInputError("--key goes with --cert CERTFILE, as for flask run")
    if settings.ttl <= 0:
        raise UserInputError(f"{settings.source('ttl')} must be positive, e.g. 15m")
    settings.trusted_hosts = [h.strip() for h in settings.trusted_hosts if h.strip()]


def _refuse_overrides(extra_args: list[str]) -> None:
    """Arguments after ``--`` must not change what debugdash checked and shows."""
    for arg in extra_args:
        name = arg.split("=", 1)[0]
        if name not in _OVERRIDING_FLASK_OPTIONS and arg[:2] in ("-h", "-p") and not arg.startswith("--"):
            name = arg[:2]  # -p5001, -h0.0.0.0
        instead = _OVERRIDING_FLASK_OPTIONS.get(name)
        if instead is not None:
            raise UserInputError(
                f"{arg!r} after -- would bypass debugdash's own setting; use debugdash's {instead} instead"
            )


def as_dict(settings: Settings) -> dict[str, Any]:
    """Settings as plain JSON-able data (for `debugdash status`)."""
    data = dataclasses.asdict(settings)
    data["script"] = str(settings.script) if settings.script else None
    data["cwd"] = str(settings.cwd)
    data.pop("env", None)
    data.pop("sources", None)
    return data
