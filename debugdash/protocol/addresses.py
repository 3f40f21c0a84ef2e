"""Who is asking: peer addresses, loopback, and matching a peer against grants.

Only the socket peer address counts. Forwarding headers are never consulted
anywhere in debugdash, so nothing in this module takes a header.

Standard library only: the agent imports this inside someone else's server.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

from debugdash.protocol.commands import WireGrant

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: The addresses debugdash treats as "this machine": they follow the debugger
#: toggle and need no grant. Deliberately not all of 127.0.0.0/8.
LOCAL_ADDRESSES = frozenset({ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")})


def parse_peer(text: str | None) -> IPAddress | None:
    """The peer address of a connection, or None when blank or unparsable.

    An IPv4-mapped IPv6 address (``::ffff:203.0.113.7``) becomes its IPv4 form,
    so it matches the IPv4 grant. A zone id (``fe80::1%eth0``) is dropped.
    """
    if not text or not isinstance(text, str):
        return None
    return _parsed(text)


@functools.lru_cache(maxsize=1024)
def _parsed(text: str) -> IPAddress | None:
    # The gate asks for every failing request, and twice; a server's peers are few
    # (parsing is ~3 µs each, more in a busy server). Addresses are immutable values.
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_local(peer: IPAddress | None) -> bool:
    return peer is not None and peer in LOCAL_ADDRESSES


def granted(peer: IPAddress | None, what: str, grants: Iterable[WireGrant], now: float) -> bool:
    """True when a grant for ``what`` covers ``peer`` and its deadline is still ahead.

    A request exactly at the deadline is refused.
    """
    if peer is None:
        return False
    for grant in grants:
        if what not in grant.what or now >= grant.deadline:
            continue
        try:
            network = ipaddress.ip_network(grant.network)
        except ValueError:
            continue
        if network.version == peer.version and peer in network:
            return True
    return False
