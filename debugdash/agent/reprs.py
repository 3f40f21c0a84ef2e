"""Safe, bounded reprs of the values in a failing request's frames.

Runs on the request thread of someone else's server for every failure, so it
must be cheap and never raise: ``reprlib`` bounds containers and long values,
a ``__repr__`` that raises gives ``<unrepresentable ...>``, and the common
cases (short strings, numbers, a few plain items) skip reprlib's dispatch.

Standard library only: this runs inside someone else's server.
"""

from __future__ import annotations

import reprlib

MAX_REPR = 200


class _SafeRepr(reprlib.Repr):
    def __init__(self) -> None:
        super().__init__()
        self.maxstring = MAX_REPR
        self.maxother = MAX_REPR
        self.maxlong = 100
        self.maxlevel = 3

    def repr_instance(self, x: object, level: int) -> str:
        try:
            text = repr(x)
        except Exception:
            return _unrepresentable(x)
        if len(text) > self.maxother:
            return text[: self.maxother - 3] + "..."
        return text


def _unrepresentable(x: object) -> str:
    try:
        name = type(x).__qualname__
    except Exception:
        name = "object"
    return f"<unrepresentable {name}>"


_REPR = _SafeRepr()


#: Types whose builtin repr is safe, cheap and equal to reprlib's (when short).
_PLAIN_TYPES = frozenset({int, float, bool, type(None), complex})


_SMALL_CONTAINERS = frozenset({list, tuple, dict})


def _small_and_plain(value: object) -> bool:
    # A few plain items: the builtin repr is bounded and cannot run app code.
    if len(value) > 8:  # type: ignore[arg-type]
        return False
    return _plain_items([*value.keys(), *value.values()] if type(value) is dict else value)  # type: ignore[attr-defined]


def safe_repr(value: object, limit: int = MAX_REPR) -> str:
    """A repr of ``value`` at most ``limit`` characters long; never raises.

    Runs for the locals of every failing request: the common cases skip
    reprlib's dispatch and give what it gives (a test holds them equal).
    """
    kind = type(value)
    if kind is str:
        if len(value) <= MAX_REPR:  # type: ignore[arg-type]
            text = repr(value)
            if len(text) <= MAX_REPR:  # else reprlib elides the middle
                return _bounded(text, limit)
    elif (kind in _PLAIN_TYPES and (kind is not int or -(10**30) < value < 10**30)) or (  # type: ignore[operator]
        kind in _SMALL_CONTAINERS and _small_and_plain(value)
    ):
        text = repr(value)
        return _bounded(text, limit)
    elif (kind is list or kind is tuple) and _plain_items(value[: _REPR.maxlist]):  # type: ignore[index] (maxtuple is the same)
        text = _sequence_repr(value)  # type: ignore[arg-type]
        return _bounded(text, limit)
    try:
        name = kind.__name__
        if name in _REPRLIB_NAMES or " " in name:
            text = _REPR.repr(value)
        else:
            text = _REPR.repr_instance(value, _REPR.maxlevel)  # where reprlib would send it
    except Exception:
        text = _unrepresentable(value)
    return _bounded(text, limit)


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


#: The type names reprlib formats its own way (its ``repr_<name>`` methods);
#: it gives every other value to ``repr_instance``.
_REPRLIB_NAMES = frozenset(name[5:] for name in dir(_SafeRepr) if name.startswith("repr_"))


def _plain_items(items: list | tuple) -> bool:
    """Short strings and plain numbers only: their builtin repr is what reprlib gives, and runs no app code."""
    for item in items:
        kind = type(item)
        if kind is str:
            if len(item) > 40:
                return False
        elif kind not in _PLAIN_TYPES or (kind is int and not -(10**30) < item < 10**30):
            return False
    return True


def _sequence_repr(value: list | tuple) -> str:
    # reprlib's ``_repr_iterable`` for a list or tuple whose first items are plain. It has
    # more than six items (fewer, all plain, are a small container): never a one-item tuple.
    pieces = [repr(item) for item in value[: _REPR.maxlist]]
    if len(value) > _REPR.maxlist:
        pieces.append(_REPR.fillvalue)
    text = ", ".join(pieces)
    return f"[{text}]" if type(value) is list else f"({text})"
