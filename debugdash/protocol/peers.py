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

import collections
import functools
import ipaddress
import itertools
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
        peer_ip = _address(str(peer[0]))
        our_ip = _address(str(ours[0]))
        peer_port, our_port = int(peer[1]), int(ours[1])
    except (ValueError, TypeError, IndexError):
        return None
    for peer_as, ours_as in _spellings(peer_ip, our_ip):
        found = _ask_kernel(peer_as, peer_port, ours_as, our_port)
        if found is _NO_DIAG:
            key = b" %s:%04X %s:%04X " % (_hex(peer_as), peer_port, _hex(ours_as), our_port)
            found = _lookup(_TABLES[peer_as.version], key)
        if found is not None:
            return found  # type: ignore[return-value]
    return None


@functools.lru_cache(maxsize=256)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    # Asked for every failing request from loopback: the same few addresses, parsed once.
    return ipaddress.ip_address(text.split("%", 1)[0])


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
        yield peer, ours
    mapped = [getattr(a, "ipv4_mapped", None) or (a if a.version == 4 else None) for a in (peer, ours)]
    if peer.version == 6 and None not in mapped:
        yield mapped[0], mapped[1]
    if peer.version == 4 and ours.version == 4:
        yield ipaddress.IPv6Address("::ffff:" + str(peer)), ipaddress.IPv6Address("::ffff:" + str(ours))


# --- asking the kernel for one socket (sock_diag netlink, what `ss` uses) -------------
# Reading /proc/net/tcp makes the kernel format every socket of the machine
# (1.5 ms with ~300 sockets, on every request from 127.0.0.1); asking for the
# one socket by its address pair costs a few tens of microseconds.

_NO_DIAG = object()  # netlink sock_diag is not available: read /proc instead
_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST = 1
_NLMSG_ERROR = 2
_TCP = 6
_ALL_STATES = 0xFFFFFFFF
_NO_COOKIE = 0xFFFFFFFF
#: TCP states whose socket still names its owner (TIME_WAIT ones say uid 0):
#: established, FIN_WAIT1/2, CLOSE_WAIT, LAST_ACK, CLOSING.
_OWNED_TCP_STATES = frozenset({1, 4, 5, 8, 9, 11})
#: Idle netlink sockets. Each question takes one for itself, so request threads
#: never wait on each other while one of them is in a system call (which gives up the GIL).
_idle_diag: collections.deque[socket.socket] = collections.deque()
_IDLE_DIAG_MAX = 8
_diag_seq = itertools.count(1)
#: How long the kernel may take to answer (it answers at once; this only bounds a wedged socket).
_DIAG_TIMEOUT = struct.pack("ll", 1, 0)


def _ask_kernel(peer, peer_port: int, ours, our_port: int) -> object:
    """``(uid, inode)`` of the TCP socket at ``peer`` connected to ``ours``, None when
    there is none (or it has no owner any more), _NO_DIAG when netlink cannot tell."""
    family = socket.AF_INET if peer.version == 4 else socket.AF_INET6
    # The peer's own socket: its source is the peer, its destination is us.
    sockid = struct.pack(
        "!HH16s16s", peer_port, our_port, peer.packed.ljust(16, b"\0"), ours.packed.ljust(16, b"\0")
    ) + struct.pack("=III", 0, _NO_COOKIE, _NO_COOKIE)
    body = struct.pack("=BBBBI", family, _TCP, 0, 0, _ALL_STATES) + sockid
    return _ask(body)


def _diag_socket() -> socket.socket:
    try:
        return _idle_diag.pop()
    except IndexError:
        pass
    diag = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_SOCK_DIAG)
    # A kernel-side timeout rather than settimeout(): no poll() before every send and recv.
    diag.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _DIAG_TIMEOUT)
    return diag


def _ask(body: bytes) -> object:
    diag = None
    try:
        diag = _diag_socket()
        sequence = next(_diag_seq) & 0xFFFFFFFF
        diag.send(struct.pack("=IHHII", 16 + len(body), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST, sequence, 0) + body)
        while True:
            reply = diag.recv(8192)
            length, kind, _flags, seq, _pid = struct.unpack_from("=IHHII", reply)
            if seq == sequence:
                break
    except (OSError, AttributeError, struct.error):
        # Not Linux, no netlink, or a socket gone bad: /proc answers the same question.
        if diag is not None:
            diag.close()
        return _NO_DIAG
    if len(_idle_diag) < _IDLE_DIAG_MAX:
        _idle_diag.append(diag)
    else:
        diag.close()
    if kind == _NLMSG_ERROR:
        (error,) = struct.unpack_from("=i", reply, 16)
        return None if error in (0, -2) else _NO_DIAG  # -ENOENT: no such socket
    if kind != _SOCK_DIAG_BY_FAMILY or length < 16 + 72:
        return _NO_DIAG
    state = reply[17]
    uid, inode = struct.unpack_from("=II", reply, 16 + 64)
    if state not in _OWNED_TCP_STATES or inode == 0:
        return None
    return uid, inode


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
