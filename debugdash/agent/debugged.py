"""The DebuggedApplication the gate mounts: Werkzeug's own, with its Host check
(against DNS rebinding) on every Werkzeug, a trusted IPv6 literal accepted as
the Host, and the page's per-failure work done once (``debugger_page``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from debugdash.agent import debugger_page

#: Werkzeug's own defaults; the gate adds the bound host when debugdash sends none.
DEFAULT_TRUSTED_HOSTS = (".localhost", "127.0.0.1")

#: A Host header naming an IPv6 literal, as browsers send it: ``[::1]:5000``.
_IPV6_HOST = re.compile(r"\[([0-9a-fA-F:.]+)\](?::[0-9]{1,5})?")


def debugger_class() -> type:
    """Werkzeug's DebuggedApplication, with its Host check on every Werkzeug, and
    accepting a trusted IPv6 literal as the Host.

    Werkzeug checks the Host name (against DNS rebinding) only from 3.0.3 on:
    under Flask 2.2-2.3 (Werkzeug 2.x, 3.0.0-3.0.2) a request naming any Host
    got the console, the PIN prompt and, with the PIN, code execution. The
    four doors the newer Werkzeug guards (console, command, PIN, PIN log) are
    guarded here the same way, whatever the version; on a newer one the check
    simply runs twice.

    Werkzeug cuts each trusted name at its first ":", so no IPv6 address ever
    matches and the console refuses a browser on http://[::1]:5000 (the page
    shows, the PIN prompt answers 400). A literal address in the Host header is
    not a DNS-rebinding risk; it is compared as an address with the trusted ones.
    """
    from werkzeug.debug import DebuggedApplication
    from werkzeug.exceptions import SecurityError
    from werkzeug.sansio.utils import host_is_trusted

    debugger_page.install()  # work the page repeats per frame and per failure, done once
    class Debugger(debugger_page.ReleasingPage, DebuggedApplication):
        on_untrusted_host: Callable[[dict], None] | None = None
        trusted_hosts: list[str] = list(DEFAULT_TRUSTED_HOSTS)

        def check_host_trust(self, environ: dict) -> bool:
            trusted = self._host_trusted(environ)
            if not trusted and self.on_untrusted_host is not None:
                self.on_untrusted_host(environ)
            return trusted

        def execute_command(self, request: Any, *args: Any) -> Any:
            return super().execute_command(request, *args) if self.check_host_trust(request.environ) else SecurityError()

        def display_console(self, request: Any) -> Any:
            return super().display_console(request) if self.check_host_trust(request.environ) else SecurityError()

        def pin_auth(self, request: Any) -> Any:
            return super().pin_auth(request) if self.check_host_trust(request.environ) else SecurityError()

        def log_pin_request(self, request: Any) -> Any:
            return super().log_pin_request(request) if self.check_host_trust(request.environ) else SecurityError()

        def _host_trusted(self, environ: dict) -> bool:
            if host_is_trusted(environ.get("HTTP_HOST"), self.trusted_hosts):
                return True
            match = _IPV6_HOST.fullmatch(environ.get("HTTP_HOST") or "")
            if match is None:
                return False
            try:
                address = ipaddress.ip_address(match.group(1))
            except ValueError:
                return False
            return any(_same_address(address, host) for host in self.trusted_hosts)

    return Debugger


def _same_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address, host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")) == address
    except ValueError:
        return False
