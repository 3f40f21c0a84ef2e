"""Who owns the other end of a loopback connection: asked of the kernel for the
one socket (netlink sock_diag), with /proc/net/tcp as the fallback; both must
give the same answer, for IPv4, IPv6 and IPv4 seen by an IPv6 listener."""

from __future__ import annotations

import os
import socket
import threading

import pytest

from debugdash.protocol import peers


def _pair(listen: tuple[str, int], family: int = socket.AF_INET, connect: str = "127.0.0.1", dual: bool = False):
    server = socket.socket(family)
    if dual:
        server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    server.bind(listen)
    server.listen()
    client = socket.create_connection((connect, server.getsockname()[1]))
    accepted, _ = server.accept()
    return server, client, accepted


CASES = {
    "ipv4": (("127.0.0.1", 0), socket.AF_INET, "127.0.0.1", False),
    "ipv6": (("::1", 0), socket.AF_INET6, "::1", False),
    "ipv4-to-dual-stack": (("::", 0), socket.AF_INET6, "127.0.0.1", True),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("way", ["netlink", "proc"])
def test_the_owner_and_socket_of_a_loopback_peer(case: str, way: str, monkeypatch) -> None:
    if way == "proc":
        monkeypatch.setattr(peers, "_ask_kernel", lambda *args: peers._NO_DIAG)
    server, client, accepted = _pair(*CASES[case])
    try:
        found = peers.peer_socket(accepted.getpeername()[:2], accepted.getsockname()[:2])
        assert found == (os.getuid(), os.fstat(client.fileno()).st_ino)
        assert peers.socket_peer_uid(accepted) == os.getuid()
        # Not the peer's socket: nothing is claimed.
        assert peers.peer_socket(("127.0.0.1", 1), accepted.getsockname()[:2]) is None
    finally:
        for s in (client, accepted, server):
            s.close()


def test_threads_asking_at_once_each_get_their_own_answer() -> None:
    pairs = [_pair(("127.0.0.1", 0)) for _ in range(8)]
    answers: dict[int, tuple[int, int] | None] = {}

    def ask(index: int) -> None:
        _server, _client, accepted = pairs[index]
        for _ in range(200):
            answers[index] = peers.peer_socket(accepted.getpeername()[:2], accepted.getsockname()[:2])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(pairs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert answers == {i: (os.getuid(), os.fstat(client.fileno()).st_ino) for i, (_s, client, _a) in enumerate(pairs)}
    finally:
        for trio in pairs:
            for s in trio:
                s.close()
