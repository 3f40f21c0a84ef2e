"""Who may reach a debugger from another machine, and until when.

Parsing is strict on purpose: an address typed into a grant decides who may run
arbitrary Python on this server, so anything a reader could take for a
different address (``010.0.0.1``, ``127.1``, ``0x7f.0.0.1``, a host name) is
refused with a message naming the fix rather than interpreted.

Deadlines live on the injected monotonic clock (see ``protocol.clock``), so tests
move time without sleeping and a jump of the wall clock changes nothing.
Loopback is not special here: the caller decides what "local" means.
"""

from __future__ import annotations

import ipaddress
import math
import re
import time
from collections.abc import Iterable

from debugdash.protocol.control import GrantInfo
from debugdash.protocol.addresses import granted, parse_peer
from debugdash.protocol.clock import Clock
from debugdash.core.errors import UserInputError
from debugdash.protocol.records import dataclass  # dataclasses.dataclass, cheaper to create
from debugdash.protocol.text import display_text
from debugdash.protocol.commands import WireGrant

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_TTL = 15 * 60
MAX_TTL = 8 * 3600
#: Networks with a shorter prefix than these need ``wide=True`` (``--wide``).
WIDE_V4 = 24
WIDE_V6 = 64

#: Everything one grant can give, in display order.
WHATS = ("debugger", "attach")
_WHAT_WORDS = {"debugger": ("debugger",), "attach": ("attach",), "both": WHATS}

_EXAMPLE = "e.g. 203.0.113.7, 10.0.0.0/24 or 2001:db8::1"
_MAX_INPUT = 100
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_DIGITS = re.compile(r"[0-9]+")
_PREFIX = re.compile(r"0|[1-9][0-9]{0,2}")
_HEX_PART = re.compile(r"(?:^|\.)0[xX]")
_NAME = re.compile(r"[A-Za-z0-9._-]+")
_DURATION = re.compile(r"(?:([0-9]{1,6})h)?(?:([0-9]{1,6})m)?(?:([0-9]{1,6})s)?")


# --- parsing -----------------------------------------------------------------


def parse_network(text: str, *, wide: bool = False) -> Network:
    """The network ``text`` names, or UserInputError with one line naming the fix.

    A bare address is a /32 or /128; an IPv4-mapped IPv6 address or network
    (``::ffff:203.0.113.7``) becomes its IPv4 form, because peers are matched in
    that form. Networks wider than /24 (IPv4) or /64 (IPv6) are refused unless
    ``wide`` is true; one that covers every address is refused always.
    """
    if not isinstance(text, str) or not text:
        raise UserInputError(f"give an IP address or network, {_EXAMPLE}")
    shown = _shown(text)
    if len(text) > _MAX_INPUT:
        raise UserInputError(f"{shown} is too long for an address; give one, {_EXAMPLE}")
    if any(c.isspace() for c in text):
        raise UserInputError(f"remove the spaces from {shown}; give just the address, {_EXAMPLE}")
    if not text.isascii():
        raise UserInputError(f"{shown} has characters that are not plain ASCII; type the address in ASCII digits, {_EXAMPLE}")
    if "%" in text:
        raise UserInputError(f"remove the zone id from {shown} (the part from '%'); addresses are matched without it")
    if text.startswith("[") or text.endswith("]"):
        raise UserInputError(f"remove the brackets from {shown}; give the bare address, {_EXAMPLE}")
    address_text, slash, prefix_text = text.partition("/")
    address = _parse_v6(address_text, shown) if ":" in address_text else _parse_v4(address_text, shown)
    prefixlen = _parse_prefix(text, prefix_text, address.max_prefixlen, shown) if slash else address.max_prefixlen
    network = ipaddress.ip_network((address, prefixlen), strict=False)
    if network.network_address != address:
        raise UserInputError(f"{shown} has host bits set; did you mean {network.with_prefixlen}?")
    if network == _MAPPED:
        raise UserInputError(f"{shown} covers every IPv4 address; give your own address instead")
    if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(_MAPPED):
        network = ipaddress.IPv4Network((network.network_address.ipv4_mapped, network.prefixlen - 96))
    _check_size(network, shown, wide)
    return network


def _shown(text: str) -> str:
    return repr(display_text(text, limit=60))


def _parse_v4(text: str, shown: str) -> ipaddress.IPv4Address:
    if not text:
        raise UserInputError(f"{shown} has no address before the '/'; give one, {_EXAMPLE}")
    if _HEX_PART.search(text):
        raise UserInputError(f"{shown} is written in hexadecimal; write the address in decimal, e.g. 127.0.0.1")
    if _DIGITS.fullmatch(text):
        suggestion = f", e.g. {ipaddress.IPv4Address(int(text))}" if int(text) < 2**32 else ""
        raise UserInputError(f"{shown} is a number, not an address; write it as four dotted parts{suggestion}")
    if not all(c.isdigit() or c == "." for c in text):
        if _NAME.fullmatch(text):
            raise UserInputError(f"{shown} is a host name; use an IP address (debugdash does not resolve names)")
        raise UserInputError(f"{shown} is not an IP address or network; use one, {_EXAMPLE}")
    parts = text.split(".")
    if not all(_DIGITS.fullmatch(p) for p in parts):
        raise UserInputError(f"{shown} is not an IP address; write four numbers separated by dots, e.g. 203.0.113.7")
    if len(parts) != 4:
        raise UserInputError(f"{shown} has {len(parts)} parts; write all four, e.g. 127.0.0.1 rather than 127.1")
    if any(len(p) > 1 and p[0] == "0" for p in parts):
        plain = ".".join(str(int(p)) for p in parts)
        raise UserInputError(
            f"{shown} has a leading zero, which some tools read as octal; write {plain} if that is what you mean"
        )
    if any(int(p) > 255 for p in parts):
        raise UserInputError(f"{shown} has a part over 255; each of the four parts is 0 to 255")
    return ipaddress.IPv4Address(text)


def _parse_v6(text: str, shown: str) -> ipaddress.IPv6Address:
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        raise UserInputError(f"{shown} is not an IPv6 address; use one like 2001:db8::1 or 2001:db8::/64") from None


def _parse_prefix(text: str, prefix: str, maximum: int, shown: str) -> int:
    if "." in prefix or ":" in prefix:
        try:
            suggestion = f", e.g. {ipaddress.ip_network(text, strict=False).with_prefixlen}"
        except ValueError:
            suggestion = ""
        raise UserInputError(f"{shown} uses a netmask; write a prefix length instead{suggestion}")
    if not _PREFIX.fullmatch(prefix) or int(prefix) > maximum:
        raise UserInputError(f"the prefix length in {shown} must be a whole number from 0 to {maximum}")
    return int(prefix)


def _check_size(network: Network, shown: str, wide: bool) -> None:
    if network.prefixlen == 0:
        raise UserInputError(f"{shown} covers every address; give your own address instead")
    if network.num_addresses == 1 and network.network_address.is_unspecified:
        raise UserInputError(f"{shown} is not a client address; give the address of the machine to let in")
    limit = WIDE_V4 if network.version == 4 else WIDE_V6
    if network.prefixlen < limit and not wide:
        raise UserInputError(
            f"{shown} is wider than /{limit}; add --wide to grant a network this large"
        )


def parse_duration(text: str, *, maximum: float = MAX_TTL) -> float:
    """Seconds in ``90s``, ``15m``, ``2h``, ``1h30m`` or ``1h30m15s``.

    A bare number is refused rather than read as seconds: "15" typed for a
    grant is as likely to mean minutes, and guessing wrong on a TTL either locks
    the user out or leaves a debugger open 60 times longer than meant.
    """
    if not isinstance(text, str) or not text:
        raise UserInputError("give a duration such as 90s, 15m, 2h or 1h30m")
    shown = _shown(text)
    if len(text) > 32 or not text.isascii() or any(c.isspace() for c in text):
        raise UserInputError(f"{shown} is not a duration; write it like 90s, 15m, 2h or 1h30m in ASCII, no spaces")
    if _DIGITS.fullmatch(text):
        raise UserInputError(f"{shown} has no unit; write {text}s or {text}m")
    if text.startswith("-"):
        raise UserInputError(f"{shown} is negative; give a duration such as 15m")
    match = _DURATION.fullmatch(text)
    if match is None or not any(match.groups()):
        if "." in text or "," in text:
            raise UserInputError(f"{shown} has a fraction; use whole units, e.g. 1h30m or 90s")
        raise UserInputError(f"{shown} is not a duration; write it like 90s, 15m, 2h or 1h30m")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = float(hours * 3600 + minutes * 60 + seconds)
    if total <= 0:
        raise UserInputError(f"{shown} is zero; give a duration such as 15m")
    if total > maximum:
        raise UserInputError(f"{shown} is too long: at most {format_duration(maximum)}")
    return total


def format_duration(seconds: float) -> str:
    """``seconds`` written the way ``parse_duration`` reads it (rounded up to a second)."""
    total = max(0, math.ceil(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0s"


def parse_what(text: str) -> tuple[str, ...]:
    """``("debugger",)``, ``("attach",)`` or both, from "debugger", "attach" or "both"."""
    try:
        return _WHAT_WORDS[text]
    except (KeyError, TypeError):
        raise UserInputError(f"{_shown(str(text))} is not something to grant; use debugger, attach or both") from None


def _normalise_what(what: str | Iterable[str]) -> tuple[str, ...]:
    if isinstance(what, str):
        return parse_what(what)
    chosen = set(what)
    if not chosen or not chosen <= set(WHATS):
        raise UserInputError(f"grant debugger, attach or both, not {sorted(chosen)!r}")
    return tuple(w for w in WHATS if w in chosen)


# --- the list ----------------------------------------------------------------


@dataclass
class AccessEntry:
    """One grant: a network, what it opens, and the monotonic deadline it ends at."""

    network: str  # canonical, ``with_prefixlen``
    what: tuple[str, ...]
    deadline: float  # on the allowlist's clock
    granted_at: float  # wall time, for display and the audit log
    user: str = ""

    def remaining(self, now: float) -> float:
        """Seconds left at ``now``; never negative."""
        return max(0.0, self.deadline - now)

    def info(self, now: float) -> GrantInfo:
        """The grant as the control socket reports it (``debugdash status``, ``allow``, ``revoke``)."""
        return GrantInfo(
            network=self.network,
            what=list(self.what),
            seconds_left=round(self.remaining(now), 3),
            granted_at=self.granted_at,
            user=self.user,
        )


class Allowlist:
    """The live grants, keyed by canonical network.

    An entry whose deadline has passed grants nothing from that instant on, is
    invisible to ``entries``/``revoke``, and leaves the table only through
    ``pop_expired`` so that its expiry is reported exactly once. Not
    thread-safe: the supervisor owns it on its event loop.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._entries: dict[str, AccessEntry] = {}

    def grant(
        self,
        network: str | Network,
        what: str | Iterable[str],
        seconds: float,
        user: str = "",
        *,
        wide: bool = False,
    ) -> tuple[AccessEntry, bool]:
        """Grant ``what`` to ``network`` for ``seconds``; return the entry and whether it re-granted.

        A string is parsed with ``parse_network`` (``wide`` as given); a network
        object is taken as already confirmed wide. Granting a network that still
        has a live entry sets its deadline anew and replaces ``what``; no other
        entry changes. Raises UserInputError for a bad network, what or TTL.
        """
        if isinstance(network, str):
            parsed = parse_network(network, wide=wide)
        else:
            parsed = parse_network(network.with_prefixlen, wide=True)
        chosen = _normalise_what(what)
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
            raise UserInputError("give a duration such as 15m")
        if not 0 < seconds <= MAX_TTL:
            raise UserInputError(f"a grant lasts more than 0s and at most {format_duration(MAX_TTL)}")
        now = self.clock()
        key = parsed.with_prefixlen
        previous = self._entries.get(key)
        regranted = previous is not None and now < previous.deadline
        entry = AccessEntry(key, chosen, now + seconds, time.time(), user)
        self._entries[key] = entry
        return entry, regranted

    def get(self, network: str | Network) -> AccessEntry | None:
        """The live entry for exactly this network, if any."""
        entry = self._entries.get(self._key(network))
        return entry if entry is not None and self.clock() < entry.deadline else None

    def revoke(self, network: str | Network) -> AccessEntry | None:
        """Remove the live entry for exactly this network; return it, or None if there was none."""
        entry = self.get(network)
        if entry is not None:
            del self._entries[entry.network]
        return entry

    def revoke_all(self) -> list[AccessEntry]:
        """Remove every live entry; return them, soonest deadline first."""
        removed = self.entries()
        for entry in removed:
            del self._entries[entry.network]
        return removed

    def pop_expired(self) -> list[AccessEntry]:
        """Remove and return the entries whose deadline is now or past."""
        now = self.clock()
        expired = sorted((e for e in self._entries.values() if now >= e.deadline), key=lambda e: e.deadline)
        for entry in expired:
            del self._entries[entry.network]
        return expired

    def entries(self) -> list[AccessEntry]:
        """The live entries, soonest deadline first."""
        now = self.clock()
        return sorted((e for e in self._entries.values() if now < e.deadline), key=lambda e: e.deadline)

    def next_deadline(self) -> float | None:
        """The soonest deadline in the table, possibly already past (then call ``pop_expired``)."""
        return min((e.deadline for e in self._entries.values()), default=None)

    def allows(self, peer: str | None, what: str) -> bool:
        """True when a live entry for ``what`` covers the socket peer address ``peer``.

        Blank or unparsable peers are refused; ``::ffff:a.b.c.d`` matches its
        IPv4 entry. Loopback gets no special treatment here.
        """
        return granted(parse_peer(peer), what, self.wire_grants(), self.clock())

    def wire_grants(self) -> list[WireGrant]:
        """The live entries as the agent enforces them."""
        return [WireGrant(e.network, list(e.what), e.deadline) for e in self.entries()]

    def __len__(self) -> int:
        return len(self.entries())

    def _key(self, network: str | Network) -> str:
        if isinstance(network, str):
            return parse_network(network, wide=True).with_prefixlen
        return network.with_prefixlen
