"""Which Unix user owns the other end of a loopback connection.

Any user on the machine can connect from 127.0.0.1, so a loopback address alone
does not say "the developer". On Linux the kernel lists every TCP socket of the
network namespace in ``/proc/net/tcp`` and ``/proc/net/tcp6`` with its owner's
uid, readable by everyone; the peer's socket is the entry whose local address is
the peer's and whose remote address is ours. Everything else (not Linux, no such
entry, a closing socket) answers None, and callers treat None as "not local".

Standard library only: the agent imports this inside someone else's server.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct

from debugdash.protocol.env import OWNER_UID_ENV

_TABLES = {4: "/proc/net/tcp", 6: "/proc/net/tcp6"}
#: Socket states whose entry still names its owner: established, closing down
#: (FIN_WAIT1/2, CLOSE_WAIT, LAST_ACK, CLOSING). TIME_WAIT entries carry uid 0.
_OWNED_STATES = frozenset({b"01", b"04", b"05", b"08", b"09", b"0B"})


def owner_uid() -> int:
    """The uid whose loopback connections count as local: debugdash's, else ours."""
    text = os.environ.get(OWNER_UID_ENV, "")
    return int(text) if text.isdigit() else os.getuid()


def peer_uid(peer: tuple[str, int], ours: tuple[str, int]) -> int | None:
    """The uid owning the socket at ``peer`` connected to our socket at ``ours``.

    Both are ``(address, port)`` as the connection shows them on our side. None
    when the owner cannot be told.
    """
    found = peer_socket(peer, ours)
    return found[0] if found is not None else None


def peer_socket(peer: tuple[str, int], ours: tuple[str, int]) -> tuple[int, int] | None:
    """``(uid, inode)`` of the socket at ``peer`` connected to ours at ``ours``; None if unknown."""
    try:
        peer_ip = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
        our_ip = ipaddress.ip_address(str(ours[0]).split("%", 1)[0])
        peer_port, our_port = int(peer[1]), int(ours[1])
    except (ValueError, TypeError, IndexError):
        return None
    for version, peer_text, our_text in _spellings(peer_ip, our_ip):
        key = b" %s:%04X %s:%04X " % (peer_text, peer_port, our_text, our_port)
        found = _lookup(_TABLES[version], key)
        if found is not None:
            return found
    return None


def socket_peer_uid(sock: socket.socket) -> int | None:
    """``peer_uid`` for a connected socket; None when it has no peer any more."""
    try:
        return peer_uid(sock.getpeername()[:2], sock.getsockname()[:2])
    except OSError:
        return None


def holds_socket(pid: int, inode: int) -> bool:
    """True when process ``pid`` has the socket ``inode`` open (we must be allowed to look)."""
    wanted = f"socket:[{inode}]"
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == wanted:
                return True
        except OSError:
            continue
    return False


def _spellings(peer, ours):
    """The ways the kernel may list the peer's socket: an IPv4 peer of an IPv6
    listener shows as ``::ffff:a.b.c.d`` here, but its own socket may be IPv4."""
    if peer.version == ours.version:
        yield peer.version, _hex(peer), _hex(ours)
    mapped = [getattr(a, "ipv4_mapped", None) or (a if a.version == 4 else None) for a in (peer, ours)]
    if peer.version == 6 and None not in mapped:
        yield 4, _hex(mapped[0]), _hex(mapped[1])
    if peer.version == 4 and ours.version == 4:
        as_v6 = [ipaddress.IPv6Address("::ffff:" + str(a)) for a in (peer, ours)]
        yield 6, _hex(as_v6[0]), _hex(as_v6[1])


def _hex(address) -> bytes:
    # The kernel prints each 32-bit word of the address in host byte order.
    packed = address.packed
    words = struct.unpack("=%dI" % (len(packed) // 4), packed)
    return b"".join(b"%08X" % word for word in words)


def _lookup(path: str, key: bytes) -> tuple[int, int] | None:
    try:
        with open(path, "rb") as f:
            table = f.read()
    except OSError:
        return None
    # One C-speed search instead of parsing every line: the key is unique to the
    # peer's side of this connection (ours has the two addresses swapped).
    at = table.find(key)
    if at < 0:
        return None
    end = table.find(b"\n", at)
    fields = table[at:end if end >= 0 else len(table)].split()
    # local rem st tx:rx tr:when retrnsmt uid timeout inode
    if len(fields) < 9 or fields[2] not in _OWNED_STATES or fields[8] == b"0":
        return None
    try:
        return int(fields[6]), int(fields[8])
    except ValueError:
        return None
