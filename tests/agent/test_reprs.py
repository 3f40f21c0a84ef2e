"""The fast paths of ``safe_repr`` (every local of every failing request) give what reprlib gives."""

from __future__ import annotations

import collections

import pytest

from debugdash.agent.reprs import MAX_REPR, _SafeRepr, _unrepresentable, safe_repr


def _reprlib(value: object, limit: int = MAX_REPR) -> str:
    """safe_repr without its shortcuts: reprlib's dispatch for everything."""
    try:
        text = _SafeRepr().repr(value)
    except Exception:
        text = _unrepresentable(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class User:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<User {self.name!r}>"


class Huge:
    def __repr__(self) -> str:
        return "H" * 5000


class Broken:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class list(list):  # noqa: A001 (a user's class named like a builtin: reprlib goes by the type's name)
    pass


VALUES = {
    "short string": "mars",
    "string with escapes": "tab\there \x1b[31m 'quote' \"dq\" \\ ünï \u202e",
    "string of 200 characters": "x" * 200,
    "string whose repr is just too long": "\x00" * 60,
    "string longer than the limit": "y" * 201,
    "long list of ints": [*range(20)],
    "long tuple of short strings": tuple(f"s{i}" for i in range(12)),
    "one-item tuple": (User("ann"),),
    "list whose seventh item is an object": [1, 2, 3, 4, 5, 6, object()],
    "list with a long string first": ["z" * 41, *range(10)],
    "list with a huge int": [10**40, *range(10)],
    "list of floats, bools and None": [0.5, True, None, 1j, -3, 2.0, 7, 8, 9],
    "a user's object": User("ann"),
    "an object whose repr is huge": Huge(),
    "an object whose repr raises": Broken(),
    "a user's class named list": list(range(3)),
    "a deque": collections.deque(range(20)),
    "a big dict": {f"k{i}": i for i in range(20)},
    "a set": set(range(20)),
    "a big int": 10**50,
}


@pytest.mark.parametrize("name", VALUES)
def test_safe_repr_is_reprlibs_repr(name: str) -> None:
    value = VALUES[name]
    assert safe_repr(value) == _reprlib(value)
    assert safe_repr(value, 20) == _reprlib(value, 20)
    assert len(safe_repr(value)) <= MAX_REPR


def test_short_containers_of_plain_values_show_whole_as_python_shows_them() -> None:
    # Unlike reprlib (which stops at 4 dict items, 6 list items): a few plain values are shown whole.
    assert safe_repr({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}) == "{'a': 1, 'b': 2, 'c': 3, 'd': 4, 'e': 5}"
    assert safe_repr([1, 2, 3, 4, 5, 6, 7, 8]) == "[1, 2, 3, 4, 5, 6, 7, 8]"
    assert safe_repr([1, 2, 3, 4, 5, 6, 7, 8, 9]) == "[1, 2, 3, 4, 5, 6, ...]"
