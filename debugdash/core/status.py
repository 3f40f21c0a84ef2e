"""What `debugdash status` shows of a session, and the host names its debugger trusts."""

from __future__ import annotations

import contextlib
import os
import socket

import psutil

from debugdash.core.settings import Settings, as_dict
from debugdash.protocol.control import AttachInfo, GrantInfo, SessionStatus, SwitchStates
from debugdash.protocol.events import Ready, Toggles


def session_status(
    settings: Settings,
    ready: Ready | None,
    phase: str,
    toggles: Toggles,
    *,
    pid: int | None,
    pin: str,
    grants: list[GrantInfo],
    audit_log: str | None,
    attach: AttachInfo | None,
    suggested_grant: str | None,
) -> SessionStatus:
    """Everything `debugdash status` shows (the PIN too: only its user reaches the control socket)."""
    return SessionStatus(
        app=settings.app_label,
        phase=phase,
        url=ready.url if ready else settings.url,
        pid=ready.pid if ready else pid,
        supervisor_pid=os.getpid(),
        port=ready.port if ready else settings.port,
        host=settings.host,
        toggles=SwitchStates(debug=toggles.debug, debugger=toggles.debugger, reloader=toggles.reloader, attach=toggles.attach),
        pin=pin if ready else None,
        reloader_type=ready.reloader_type if ready else None,
        grants=grants,
        audit_log=audit_log,
        attach=attach,
        suggested_grant=suggested_grant,
        python=settings.python,
        settings=as_dict(settings),
    )


def trusted_hosts(settings: Settings) -> list[str]:
    """The host names the debugger accepts (DNS-rebinding protection); never empty."""
    hosts = ["127.0.0.1", "localhost", ".localhost", "::1", socket.gethostname()]
    host = settings.host
    if host in ("0.0.0.0", "::"):
        with contextlib.suppress(OSError):
            for addresses in psutil.net_if_addrs().values():
                hosts += [a.address.split("%")[0] for a in addresses if a.family in (socket.AF_INET, socket.AF_INET6)]
    else:
        hosts.append(host)
    hosts += settings.trusted_hosts
    return list(dict.fromkeys(h for h in hosts if h))


def suggested_grant(settings: Settings) -> str | None:
    """The SSH client's address, when the server is reachable from a network."""
    if not settings.binds_network:
        return None
    connection = os.environ.get("SSH_CONNECTION", "").split()
    return connection[0] if connection else None


def network_warning(settings: Settings) -> str:
    return (
        f"the server listens on {settings.host}: the debugger is on for this machine "
        "and for granted addresses only; grant with g or `debugdash allow ADDR`"
    )
