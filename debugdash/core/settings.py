"""What to run and how: settings resolved from Flask's environment, the
project's pyproject.toml and the command line, in that order of precedence
(later wins), and validated before anything starts.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import shutil
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from debugdash.core import envfiles
from debugdash.core.errors import UserInputError

DEFAULT_PORT = 5000
DEFAULT_ATTACH_PORT = 5678
DEFAULT_TTL = 15 * 60

#: Keys accepted in [tool.debugdash], with the type each must have.
_PYPROJECT_KEYS: dict[str, type | tuple[type, ...]] = {
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
    cwd: Path = field(default_factory=Path.cwd)
    #: Variables from .flaskenv/.env, passed to the server like Flask would.
    env: dict[str, str] = field(default_factory=dict)
    #: True when the port came from the user (script mode otherwise keeps the script's own).
    port_given: bool = True

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
    python = _resolve_python(cli.get("python") or pyproject.get("python"), environ)
    dotenv = envfiles.load(python, cwd, environ)
    merged_env = {**dotenv, **environ}

    values: dict[str, Any] = {}
    values.update(_from_flask_env(merged_env))
    values.update(pyproject)
    values.update({k: v for k, v in cli.items() if v is not None and v != () and v != []})

    settings = Settings(cwd=cwd, env=dotenv)
    port_given = "port" in values
    for key, value in values.items():
        setattr(settings, key, value)
    settings.port_given = port_given or settings.script is None
    if "debugger" not in values:
        # As with `flask run`: the debugger follows debug mode unless given itself.
        settings.debugger = settings.debug

    if isinstance(settings.ttl, str):
        from debugdash.core.allowlist import parse_duration

        settings.ttl = parse_duration(settings.ttl)
    settings.allow = list(settings.allow)
    if settings.allow:
        from debugdash.core.allowlist import parse_network

        for address in settings.allow:
            parse_network(address, wide=settings.wide)
    settings.python = python
    _validate(settings, merged_env)
    return settings


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
            table = tomllib.load(f).get("tool", {}).get("debugdash", {})
    except tomllib.TOMLDecodeError as e:
        raise UserInputError(f"{path} is not valid TOML ({e}); fix the file or remove [tool.debugdash]") from None
    if not isinstance(table, dict):
        raise UserInputError(f"[tool.debugdash] in {path} must be a table")
    values: dict[str, Any] = {}
    for key, value in table.items():
        expected = _PYPROJECT_KEYS.get(key)
        if expected is None:
            known = ", ".join(sorted(_PYPROJECT_KEYS))
            raise UserInputError(f"unknown key {key!r} in [tool.debugdash] of {path}; known keys: {known}")
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            kind = expected.__name__ if isinstance(expected, type) else "value"
            raise UserInputError(f"{key} in [tool.debugdash] of {path} must be a {kind}, not {value!r}")
        values[key.replace("-", "_")] = value
    if "script" in values:
        values["script"] = Path(values["script"])
    return values


def _resolve_python(given: str | None, environ: Mapping[str, str]) -> str:
    """The app's interpreter: --python, else the active virtualenv's, else ours."""
    if given:
        found = shutil.which(given) if os.sep not in given else given
        if not found or not os.access(found, os.X_OK) or os.path.isdir(found):
            raise UserInputError(f"--python {given}: no such interpreter; give the path of the app's python")
        return str(Path(found).absolute())
    venv = environ.get("VIRTUAL_ENV")
    if venv:
        candidate = Path(venv) / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        if candidate.exists():
            return str(candidate)
    return sys.executable


def _port(value: Any, what: str) -> int:
    try:
        port = int(str(value).strip(), 10)
    except ValueError:
        raise UserInputError(f"{what} {value!r} is not a port; use a number from 1 to 65535") from None
    if not 0 < port < 65536:
        raise UserInputError(f"{what} {value!r} is out of range; use a number from 1 to 65535")
    return port


def _validate(settings: Settings, env: Mapping[str, str]) -> None:
    settings.port = _port(settings.port, "--port")
    settings.attach_port = _port(settings.attach_port, "--attach-port")
    if settings.app and settings.script:
        raise UserInputError("give --app or --script, not both")
    if settings.script is not None:
        script = settings.script if settings.script.is_absolute() else settings.cwd / settings.script
        if not script.is_file():
            raise UserInputError(f"--script {settings.script}: no such file; give the path of the file that calls app.run()")
        settings.script = script
    elif not settings.app and not any((settings.cwd / name).is_file() for name in ("wsgi.py", "app.py")):
        raise UserInputError(
            "no app found: pass --app module or --script file.py, set FLASK_APP, "
            "or run from the folder holding app.py or wsgi.py"
        )
    try:
        ipaddress.ip_address(settings.host)
    except ValueError:
        if settings.host != "localhost":
            raise UserInputError(
                f"--host {settings.host!r} is not an IP address; use 127.0.0.1, 0.0.0.0 or this machine's address"
            ) from None
    if settings.script is not None and (settings.cert or settings.key):
        raise UserInputError("--cert/--key are for --app; a --script passes ssl_context to app.run() itself")
    if settings.key and not settings.cert:
        raise UserInputError("--key goes with --cert CERTFILE, as for flask run")
    if settings.ttl <= 0:
        raise UserInputError("--ttl must be positive, e.g. 15m")
    settings.trusted_hosts = [h.strip() for h in settings.trusted_hosts if h.strip()]


def as_dict(settings: Settings) -> dict[str, Any]:
    """Settings as plain JSON-able data (for `debugdash status`)."""
    data = dataclasses.asdict(settings)
    data["script"] = str(settings.script) if settings.script else None
    data["cwd"] = str(settings.cwd)
    data.pop("env", None)
    return data
