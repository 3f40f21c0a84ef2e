import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from debugdash.core.allowlist import (
    DEFAULT_TTL,
    MAX_TTL,
    AccessEntry,
    Allowlist,
    format_duration,
    parse_duration,
    parse_network,
    parse_what,
)
from debugdash.protocol import codec
from debugdash.protocol.clock import ManualClock
from debugdash.core.errors import UserInputError

# --- parse_network -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("203.0.113.7", "203.0.113.7/32"),
        ("127.0.0.2", "127.0.0.2/32"),
        ("2001:db8::1", "2001:db8::1/128"),
        ("2001:DB8:0:0::1", "2001:db8::1/128"),
        ("10.0.0.0/24", "10.0.0.0/24"),
        ("10.0.0.128/25", "10.0.0.128/25"),
        ("2001:db8::/64", "2001:db8::/64"),
        ("203.0.113.7/32", "203.0.113.7/32"),
        ("::ffff:203.0.113.7", "203.0.113.7/32"),
        ("::ffff:cb00:7107", "203.0.113.7/32"),
        ("::ffff:10.0.0.0/120", "10.0.0.0/24"),
    ],
)
def test_accepts_addresses_and_networks(text, canonical):
    assert parse_network(text).with_prefixlen == canonical


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("localhost", "does not resolve names"),
        ("example.com", "does not resolve names"),
        ("my-laptop", "does not resolve names"),
        ("010.0.0.1", "leading zero"),
        ("10.0.0.01", "leading zero"),
        ("127.1", "write all four"),
        ("10.1.1", "write all four"),
        ("0x7f.0.0.1", "decimal"),
        ("127.0.0.0x1", "decimal"),
        ("2130706433", "127.0.0.1"),
        ("0", "four dotted parts"),
        ("10.0.0.0/0.0.0.255", "10.0.0.0/24"),
        ("10.0.0.0/255.0.0.0", "10.0.0.0/8"),
        ("10.0.0.5/8", "10.0.0.0/8"),
        ("2001:db8::1/64", "2001:db8::/64"),
        ("fe80::1%eth0", "zone id"),
        ("fe80::1%1", "zone id"),
        (" 203.0.113.7", "spaces"),
        ("203.0.113.7 ", "spaces"),
        ("203.0.113.7\n", "spaces"),
        ("203.0.113.7\t", "spaces"),
        ("203.0.113.7/ 32", "spaces"),
        ("\u0661\u0662\u0667.0.0.1", "ASCII"),  # Arabic-Indic digits
        ("\uff11\uff12\uff17.0.0.1", "ASCII"),  # fullwidth digits
        ("127.0.0.\u0967", "ASCII"),  # Devanagari one
        ("0.0.0.0/0", "every address"),
        ("::/0", "every address"),
        ("::ffff:0:0/96", "every IPv4 address"),
        ("::ffff:0.0.0.0/96", "every IPv4 address"),
        ("", "give an IP address"),
        ("10.0.0.0/8", "add --wide"),
        ("10.0.0.0/23", "add --wide"),
        ("2001:db8::/48", "add --wide"),
        ("2001:db8::/63", "add --wide"),
        ("1.2.3.4/33", "0 to 32"),
        ("1.2.3.4/024", "0 to 32"),
        ("1.2.3.4/-1", "0 to 32"),
        ("1.2.3.4/", "0 to 32"),
        ("2001:db8::/129", "0 to 128"),
        ("256.1.1.1", "over 255"),
        ("1.2.3.4.", "four numbers"),
        ("1..2.3", "four numbers"),
        ("1.2.3.4/24/8", "0 to 32"),
        ("/24", "no address"),
        ("[::1]", "brackets"),
        ("2001:db8::g", "IPv6"),
        ("1:2:3:4:5:6:7:8:9", "IPv6"),
        ("::ffff:127.1", "IPv6"),
        ("::ffff:010.0.0.1", "IPv6"),
        ("0.0.0.0", "not a client address"),
        ("::", "not a client address"),
        ("1" * 200, "too long"),
    ],
)
def test_refuses_with_one_line_naming_the_fix(text, hint):
    with pytest.raises(UserInputError) as caught:
        parse_network(text)
    message = str(caught.value)
    assert hint in message
    assert "\n" not in message
    assert len(message) < 200


@pytest.mark.parametrize("text", ["10.0.0.0/8", "10.0.0.0/23", "2001:db8::/48", "192.168.0.0/16"])
def test_wide_networks_need_wide(text):
    with pytest.raises(UserInputError, match="add --wide"):
        parse_network(text)
    assert parse_network(text, wide=True).with_prefixlen == text


@pytest.mark.parametrize("text", ["0.0.0.0/0", "::/0", "::ffff:0:0/96"])
def test_everything_is_refused_even_with_wide(text):
    with pytest.raises(UserInputError):
        parse_network(text, wide=True)


def test_non_string_is_refused():
    with pytest.raises(UserInputError):
        parse_network(2130706433)  # type: ignore[arg-type]


# --- parse_duration / parse_what ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("2h", 7200), ("1h30m", 5400), ("1h30m15s", 5415), ("8h", MAX_TTL), ("90m", 5400)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("0s", "zero"),
        ("0h0m", "zero"),
        ("-5m", "negative"),
        ("-0s", "negative"),
        ("abc", "like 90s"),
        ("nan", "like 90s"),
        ("inf", "like 90s"),
        ("NaNs", "like 90s"),
        ("1.5h", "fraction"),
        ("0.5m", "fraction"),
        ("9h", "at most 8h"),
        ("8h1s", "at most 8h"),
        ("481m", "at most 8h"),
        ("15", "no unit"),
        ("\u0661\u0665m", "ASCII"),
        ("\uff11\uff15m", "ASCII"),
        (" 15m", "no spaces"),
        ("15m ", "no spaces"),
        ("1h 30m", "no spaces"),
        ("30m1h", "like 90s"),
        ("15M", "like 90s"),
        ("h", "like 90s"),
        ("", "give a duration"),
        ("9" * 40 + "h", "ASCII, no spaces"),
    ],
)
def test_refused_durations(text, hint):
    with pytest.raises(UserInputError) as caught:
        parse_duration(text)
    assert hint in str(caught.value)
    assert "\n" not in str(caught.value)


def test_duration_maximum_is_adjustable_and_named():
    with pytest.raises(UserInputError, match="at most 1h"):
        parse_duration("61m", maximum=3600)


def test_defaults():
    assert DEFAULT_TTL == 15 * 60
    assert MAX_TTL == 8 * 3600
    assert format_duration(DEFAULT_TTL) == "15m"
    assert format_duration(5415) == "1h30m15s"
    assert format_duration(0.2) == "1s"


@pytest.mark.parametrize(
    ("text", "what"), [("debugger", ("debugger",)), ("attach", ("attach",)), ("both", ("debugger", "attach"))]
)
def test_what(text, what):
    assert parse_what(text) == what


@pytest.mark.parametrize("text", ["", "Debugger", "all", "debugger,attach", " both"])
def test_bad_what(text):
    with pytest.raises(UserInputError, match="debugger, attach or both"):
        parse_what(text)


# --- Allowlist -------------------------------------------------------------------


@pytest.fixture
def clock():
    return ManualClock(start=5000.0)


@pytest.fixture
def allowlist(clock):
    return Allowlist(clock)


def test_grant_allows_until_exactly_the_deadline(allowlist, clock):
    entry, regranted = allowlist.grant("127.0.0.2", "debugger", 900, user="alice")
    assert not regranted
    assert entry == AccessEntry("127.0.0.2/32", ("debugger",), 5900.0, entry.granted_at, "alice")
    assert allowlist.allows("127.0.0.2", "debugger")
    assert not allowlist.allows("127.0.0.2", "attach")
    assert not allowlist.allows("127.0.0.3", "debugger")
    clock.advance(899.999)
    assert allowlist.allows("127.0.0.2", "debugger")
    assert entry.remaining(clock()) == pytest.approx(0.001)
    clock.advance(0.001)  # exactly at the deadline
    assert clock() == entry.deadline
    assert not allowlist.allows("127.0.0.2", "debugger")
    assert allowlist.entries() == []
    assert allowlist.wire_grants() == []
    assert allowlist.next_deadline() == entry.deadline
    assert allowlist.pop_expired() == [entry]
    assert allowlist.pop_expired() == []
    assert allowlist.next_deadline() is None


def test_regrant_resets_only_that_entry(allowlist, clock):
    first, _ = allowlist.grant("127.0.0.2", "debugger", 600)
    other, _ = allowlist.grant("127.0.0.3", "attach", 300)
    clock.advance(200)
    again, regranted = allowlist.grant("127.0.0.2/32", "attach", 600)
    assert regranted
    assert again.deadline == clock() + 600
    assert again.what == ("attach",)
    assert not allowlist.allows("127.0.0.2", "debugger")
    assert allowlist.allows("127.0.0.2", "attach")
    assert allowlist.get("127.0.0.3") is other
    assert other.deadline == 5300.0
    assert [e.network for e in allowlist.entries()] == ["127.0.0.3/32", "127.0.0.2/32"]


def test_grant_after_expiry_is_not_a_regrant(allowlist, clock):
    allowlist.grant("127.0.0.2", "debugger", 60)
    clock.advance(60)
    _, regranted = allowlist.grant("127.0.0.2", "debugger", 60)
    assert not regranted


def test_revoke(allowlist, clock):
    a, _ = allowlist.grant("127.0.0.2", "both", 600)
    b, _ = allowlist.grant("10.1.2.0/24", ["attach"], 300)
    assert allowlist.revoke("127.0.0.9") is None
    assert allowlist.revoke("::ffff:127.0.0.2") is a
    assert not allowlist.allows("127.0.0.2", "debugger")
    assert allowlist.allows("10.1.2.77", "attach")
    assert allowlist.revoke_all() == [b]
    assert allowlist.entries() == []
    assert not allowlist.allows("10.1.2.77", "attach")


def test_revoke_all_leaves_expired_entries_for_pop_expired(allowlist, clock):
    old, _ = allowlist.grant("127.0.0.2", "debugger", 10)
    live, _ = allowlist.grant("127.0.0.3", "debugger", 100)
    clock.advance(10)
    assert allowlist.revoke_all() == [live]
    assert allowlist.pop_expired() == [old]


def test_entries_sorted_and_to_dict(allowlist, clock):
    allowlist.grant("127.0.0.2", "debugger", 600, user="bob")
    allowlist.grant("2001:db8::/64", "both", 60)
    clock.advance(30)
    entries = allowlist.entries()
    assert [e.network for e in entries] == ["2001:db8::/64", "127.0.0.2/32"]
    assert codec.to_plain(entries[0].info(clock())) == {
        "network": "2001:db8::/64",
        "what": ["debugger", "attach"],
        "seconds_left": 30.0,
        "granted_at": entries[0].granted_at,
        "user": "",
    }
    assert allowlist.next_deadline() == 5060.0
    assert len(allowlist) == 2


def test_wire_grants_carry_the_same_deadlines(allowlist, clock):
    allowlist.grant("127.0.0.2", "both", 600)
    [grant] = allowlist.wire_grants()
    assert (grant.network, grant.what, grant.deadline) == ("127.0.0.2/32", ["debugger", "attach"], 5600.0)


def test_ipv4_mapped_peer_matches_ipv4_entry(allowlist):
    allowlist.grant("203.0.113.7", "debugger", 60)
    assert allowlist.allows("::ffff:203.0.113.7", "debugger")
    assert not allowlist.allows("::ffff:203.0.113.8", "debugger")


@pytest.mark.parametrize("peer", [None, "", "garbage", "203.0.113", " 203.0.113.7"])
def test_blank_or_unparsable_peer_is_refused(allowlist, peer):
    allowlist.grant("203.0.113.7", "debugger", 60)
    assert not allowlist.allows(peer, "debugger")


def test_loopback_is_not_special_here(allowlist):
    assert not allowlist.allows("127.0.0.1", "debugger")
    assert not allowlist.allows("::1", "attach")


@pytest.mark.parametrize(
    ("network", "what", "seconds", "wide"),
    [
        ("10.0.0.0/8", "debugger", 60, False),
        ("localhost", "debugger", 60, False),
        ("127.0.0.2", "nothing", 60, False),
        ("127.0.0.2", [], 60, False),
        ("127.0.0.2", "debugger", 0, False),
        ("127.0.0.2", "debugger", -1, False),
        ("127.0.0.2", "debugger", float("nan"), False),
        ("127.0.0.2", "debugger", float("inf"), False),
        ("127.0.0.2", "debugger", MAX_TTL + 1, False),
    ],
)
def test_bad_grants_are_refused_and_change_nothing(allowlist, network, what, seconds, wide):
    with pytest.raises(UserInputError):
        allowlist.grant(network, what, seconds, wide=wide)
    assert allowlist.entries() == []


def test_wide_grant_and_network_objects(allowlist):
    entry, _ = allowlist.grant("10.0.0.0/8", "debugger", 60, wide=True)
    assert allowlist.allows("10.200.0.1", "debugger")
    entry2, regranted = allowlist.grant(ipaddress.ip_network("10.0.0.0/8"), "debugger", 120)
    assert regranted and entry2.network == entry.network


# --- properties --------------------------------------------------------------------

ipv4_networks = st.builds(
    lambda a, p: ipaddress.IPv4Network((a, p), strict=False), st.ip_addresses(v=4), st.integers(1, 32)
)
ipv6_networks = st.builds(
    lambda a, p: ipaddress.IPv6Network((a, p), strict=False), st.ip_addresses(v=6), st.integers(1, 128)
).filter(lambda n: not n.subnet_of(ipaddress.IPv6Network("::ffff:0:0/96")))  # those normalise to IPv4
valid_networks = st.one_of(ipv4_networks, ipv6_networks).filter(
    lambda n: not (n.num_addresses == 1 and n.network_address.is_unspecified)
)


@settings(max_examples=300, deadline=None)
@given(valid_networks)
def test_valid_networks_round_trip(network):
    parsed = parse_network(network.with_prefixlen, wide=True)
    assert parsed == network
    assert parse_network(parsed.with_prefixlen, wide=True) == parsed
    assert parse_network(str(network.network_address) + f"/{network.prefixlen}", wide=True) == network


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=40), st.text(alphabet="0123456789abcdefx.:/%[] -", max_size=45)))
def test_random_text_only_ever_raises_user_input_error(text):
    for wide in (False, True):
        try:
            network = parse_network(text, wide=wide)
        except UserInputError as e:
            assert "\n" not in str(e)
        else:
            assert parse_network(network.with_prefixlen, wide=True) == network
    try:
        seconds = parse_duration(text)
    except UserInputError:
        pass
    else:
        assert 0 < seconds <= MAX_TTL


@settings(max_examples=300, deadline=None)
@given(
    network=valid_networks,
    peer=st.one_of(st.ip_addresses(), st.ip_addresses(v=4).map(lambda a: ipaddress.IPv6Address(f"::ffff:{a}"))),
    what=st.sampled_from(["debugger", "attach", "both"]),
    asked=st.sampled_from(["debugger", "attach"]),
    ttl=st.integers(1, MAX_TTL),
    elapsed=st.integers(0, MAX_TTL + 10),
)
def test_allows_iff_inside_before_deadline_and_what_matches(network, peer, what, asked, ttl, elapsed):
    clock = ManualClock(start=100.0)
    allowlist = Allowlist(clock)
    allowlist.grant(network, what, ttl)
    clock.advance(elapsed)
    plain_peer = peer.ipv4_mapped if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped else peer
    expected = (
        plain_peer.version == network.version
        and plain_peer in network
        and elapsed < ttl
        and asked in parse_what(what)
    )
    assert allowlist.allows(str(peer), asked) == expected


@settings(max_examples=200, deadline=None)
@given(st.ip_addresses(v=4).filter(lambda a: not a.is_unspecified), st.integers(1, 600))
def test_ipv4_mapped_peers_match_ipv4_entries(address, ttl):
    allowlist = Allowlist(ManualClock())
    allowlist.grant(str(address), "attach", ttl)
    assert allowlist.allows(f"::ffff:{address}", "attach")
    assert allowlist.allows(str(address), "attach")
