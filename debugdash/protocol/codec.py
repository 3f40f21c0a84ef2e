"""The one codec: every message debugdash sends — events, agent commands, control
requests — is a dataclass turned into one line of JSON and back here.

A message kind (``EVENTS``, ``COMMANDS``, ``REQUESTS``) names the key that
tells its classes apart (``"event"``, ``"cmd"``) and registers each class by
its ``name``. Decoding builds nested dataclasses from the fields' type hints,
so a new nested field needs no table entry.

Decoding is the boundary where the app's and the network's strings enter:
every string it builds is neutralised (keys and values, nested frames and
locals included; see ``text``), so no face can forget to and a new field is
covered without a line of code. Only fields marked ``MULTILINE`` keep their
newlines.

Standard library only: the agent imports this inside someone else's server.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
import types
import typing
from collections.abc import Callable
from typing import Any

from debugdash.protocol.text import neutralise

#: Field metadata for a string that may hold several lines (a traceback's message).
MULTILINE = {"multiline": True}

#: Longest line either side of a socket accepts; a request_error with many frames fits easily.
MAX_LINE = 8 * 1024 * 1024


class EventFormatError(ValueError):
    """A line or dictionary that does not describe a known message."""


class Kind:
    """One family of messages, told apart by the value of ``key``."""

    def __init__(self, key: str, label: str, attr: str = "name") -> None:
        self.key = key
        self.label = label  # "event", "command", "request": for error messages
        self.attr = attr  # the class attribute that holds the value of ``key``
        self.classes: dict[str, type] = {}
        #: Names of classes in a module imported on their first use (``defer``): name -> module.
        self.deferred: dict[str, str] = {}

    def register(self, cls: type) -> None:
        self.classes[getattr(cls, self.attr)] = cls

    def defer(self, module: str, *names: str) -> None:
        """``names`` are classes of ``module``, imported when one of them is first decoded.

        A process that never receives them never pays for their module: the
        agent's console queries pull in the console protocol (and the control
        requests it extends), ~5 ms of every server's start.
        """
        self.deferred.update(dict.fromkeys(names, module))

    def as_dict(self, message: Any) -> dict[str, Any]:
        """``message`` as plain data, its kind's key first."""
        data = {self.key: getattr(message, self.attr)}
        data.update(plain(message))
        return data

    def from_dict(self, data: dict[str, Any]) -> Any:
        """Rebuild a message from its ``as_dict`` form; raise EventFormatError if unknown."""
        try:
            name = data[self.key]
            cls = self.classes.get(name) or self._import_deferred(name)
        except (KeyError, TypeError):
            raise EventFormatError(f"unknown {self.label}: {data!r:.200}") from None
        try:
            # A class sent in bulk may build itself faster (``from_plain``), to the same result.
            builder = getattr(cls, "from_plain", None) or functools.partial(build, cls)
            return builder({k: v for k, v in data.items() if k != self.key})
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            raise EventFormatError(f"malformed {cls.name} {self.label}: {e}") from None

    def _import_deferred(self, name: str) -> type:
        """The class of a deferred ``name``, its module imported now; KeyError when it is not one."""
        importlib.import_module(self.deferred[name])
        return self.classes[name]


EVENTS = Kind("event", "event")
COMMANDS = Kind("cmd", "command")
#: Control requests carry their command in ``cmd``: ``toggle`` has a field called ``name``.
REQUESTS = Kind("cmd", "request", attr="cmd")


# --- encoding --------------------------------------------------------------

_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def plain(obj: Any) -> dict[str, Any]:
    """The fields of a dataclass as plain data (nested dataclasses too)."""
    # Errors carry dozens of frames: this runs often enough to avoid dataclasses.asdict.
    return {name: to_plain(getattr(obj, name)) for name in _field_names(type(obj))}


def to_plain(value: Any) -> Any:
    """``value`` as JSON-able data: dataclasses (nested too) become dictionaries."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value):
        return plain(value)
    return value


def encode(message: Any) -> bytes:
    """One line of JSON for ``message``, newline included."""
    return json.dumps(message.to_dict(), separators=(",", ":")).encode() + b"\n"


# --- decoding --------------------------------------------------------------

Decoder = Callable[[Any, bool], Any]
_DECODERS: dict[type, dict[str, tuple[Decoder, bool]]] = {}


def build(cls: type, data: dict[str, Any]) -> Any:
    """An instance of dataclass ``cls`` from plain ``data``, every string neutralised."""
    decoders = _DECODERS.get(cls)
    if decoders is None:
        decoders = _DECODERS[cls] = _decoders_of(cls)
    kwargs: dict[str, Any] = {}
    for name, (decode, multiline) in decoders.items():
        if name in data:
            kwargs[name] = decode(data[name], multiline)
    return cls(**kwargs)


def _decoders_of(cls: type) -> dict[str, tuple[Decoder, bool]]:
    hints = typing.get_type_hints(cls)
    return {
        f.name: (_decoder(hints[f.name]), bool(f.metadata.get("multiline")))
        for f in dataclasses.fields(cls)
    }


def decode_value(hint: Any, value: Any) -> Any:
    """``value`` (plain data) rebuilt as type ``hint``: a dataclass, a list of them, or neutral data."""
    return _decoder(hint)(value, False)


def _decoder(hint: Any) -> Decoder:
    """How to rebuild a value of type ``hint``: nested dataclasses by their hints, the rest as neutral data."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1 and _holds_dataclass(inner[0]):
            one = _decoder(inner[0])
            return lambda value, multiline: None if value is None else one(value, multiline)
        return _neutral
    if origin is list and args and _holds_dataclass(args[0]):
        item = _decoder(args[0])

        def decode_list(value: Any, multiline: bool) -> list[Any]:
            if not isinstance(value, list):
                raise TypeError(f"a list is expected, not {type(value).__name__}")
            return [item(v, multiline) for v in value]

        return decode_list
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return lambda value, multiline: build(hint, value)
    return _neutral


def _holds_dataclass(hint: Any) -> bool:
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return True
    return any(_holds_dataclass(a) for a in typing.get_args(hint))


def _neutral(value: Any, multiline: bool) -> Any:
    if isinstance(value, str):
        return neutralise(value, multiline=multiline)
    if isinstance(value, list):
        return [_neutral(v, multiline) for v in value]
    if isinstance(value, dict):
        return {_neutral(k, False): _neutral(v, multiline) for k, v in value.items()}
    return value


def decode(line: bytes, *kinds: Kind) -> Any:
    """Parse one line into a message of one of ``kinds``; raise EventFormatError if none."""
    try:
        data = json.loads(line)
    except (ValueError, UnicodeDecodeError) as e:
        raise EventFormatError(f"not JSON: {e}") from None
    if not isinstance(data, dict):
        raise EventFormatError("not an object")
    for kind in kinds:
        if kind.key in data:
            return kind.from_dict(data)
    return kinds[-1].from_dict(data)
