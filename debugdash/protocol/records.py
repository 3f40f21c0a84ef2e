"""The protocol's dataclasses, made at a fraction of ``dataclasses.dataclass``'s cost.

Every debugdash process creates the protocol's ~100 message classes at start,
and start-up waits for them: ``dataclasses.dataclass`` compiles an
``__init__``, a ``__repr__`` and an ``__eq__`` for each (three ``exec`` calls,
0.3-0.6 ms a class here: ~50 ms of the supervisor's start, ~25 ms of the
server's), though a given process builds instances of a few of them only.

``dataclass`` here makes the same class for the options the protocol uses
(``slots``, ``kw_only``, fields with ``default``, ``default_factory`` and
``metadata``): the same fields in ``__dataclass_fields__`` (so
``dataclasses.fields``, ``replace``, ``asdict`` and ``is_dataclass`` work),
the same ``__init__`` signature and ``__slots__``, ``__match_args__``, equal
``__repr__`` and ``__eq__``, and ``__hash__`` set to None. What it does not
do at class creation: ``__init__`` is compiled when the first instance is
built (then it is the same code ``dataclasses`` writes, as fast), and
``__repr__``/``__eq__`` are shared functions reading the field names.

Standard library only: the agent imports it inside someone else's server.
"""

from __future__ import annotations

import dataclasses
from dataclasses import MISSING, Field, field, fields  # noqa: F401  (the API the protocol modules import)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    T = TypeVar("T")

# ``dataclasses.fields`` lists a field only when it is marked a field (not a
# ClassVar or InitVar): the mark is private, the same in 3.11 to 3.13.
_FIELD = dataclasses._FIELD  # type: ignore[attr-defined]


@dataclasses.dataclass
class _Plain:
    """One real dataclass, for the parameters object every record shares (init, repr, eq; not frozen)."""


_PARAMS = _Plain.__dataclass_params__  # type: ignore[attr-defined]
class _Factory:
    """"No argument given" for a field with a default_factory; shown as ``dataclasses`` shows it."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def dataclass(cls: type[T] | None = None, /, *, slots: bool = False, kw_only: bool = False) -> Any:
    """``dataclasses.dataclass(slots=..., kw_only=...)``, with ``__init__`` compiled on first use."""

    def wrap(cls: type[T]) -> type[T]:
        return _process(cls, slots=slots, kw_only=kw_only)

    return wrap if cls is None else wrap(cls)


def _process(cls: type[T], *, slots: bool, kw_only: bool) -> type[T]:
    all_fields: dict[str, Field] = {}
    for base in cls.__mro__[-1:0:-1]:
        inherited = base.__dict__.get("__dataclass_fields__")
        if inherited is not None:
            all_fields.update({f.name: f for f in inherited.values() if f._field_type is _FIELD})  # type: ignore[attr-defined]
    namespace = cls.__dict__
    for name, annotation in namespace.get("__annotations__", {}).items():
        if _is_classvar(annotation):
            continue
        default = namespace.get(name, MISSING)
        made = default if isinstance(default, Field) else field(default=default)
        if not made.init:
            raise TypeError(f"{cls.__qualname__}.{name}: init=False is not supported here; use dataclasses.dataclass")
        if made.default is not MISSING and made.default.__class__.__hash__ is None:
            raise ValueError(f"mutable default {type(made.default)} for field {name} is not allowed: use default_factory")
        made.name = name
        made.type = annotation
        made._field_type = _FIELD  # type: ignore[attr-defined]
        if made.kw_only is MISSING:  # type: ignore[attr-defined]
            made.kw_only = kw_only  # type: ignore[attr-defined]
        if isinstance(default, Field):
            if made.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, made.default)
        all_fields[name] = made
    _check_order(cls, all_fields)
    cls.__dataclass_fields__ = all_fields  # type: ignore[attr-defined]
    cls.__dataclass_params__ = _PARAMS  # type: ignore[attr-defined]
    cls.__record_repr__ = tuple(f.name for f in all_fields.values() if f.repr)  # type: ignore[attr-defined]
    cls.__record_compare__ = tuple(f.name for f in all_fields.values() if f.compare)  # type: ignore[attr-defined]
    if "__repr__" not in namespace:
        cls.__repr__ = _repr  # type: ignore[assignment]
    if "__eq__" not in namespace:
        cls.__eq__ = _eq  # type: ignore[assignment]
    explicit_hash = namespace.get("__hash__", MISSING)
    if explicit_hash is MISSING or (explicit_hash is None and "__eq__" in namespace):
        cls.__hash__ = None  # type: ignore[assignment]
    if "__match_args__" not in namespace:
        cls.__match_args__ = tuple(f.name for f in all_fields.values() if f.init and not f.kw_only)  # type: ignore[attr-defined]
    if slots:
        cls = _with_slots(cls, all_fields)
    if "__init__" not in cls.__dict__:
        cls.__init__ = _init_on_first_use(cls)  # type: ignore[misc]
    return cls


def _check_order(cls: type, all_fields: dict[str, Field]) -> None:
    """As ``dataclasses`` checks: a positional field without a default may not follow one with."""
    seen_default = False
    for f in all_fields.values():
        if f.kw_only:
            continue
        if f.default is not MISSING or f.default_factory is not MISSING:
            seen_default = True
        elif seen_default:
            raise TypeError(f"{cls.__qualname__}: non-default argument {f.name!r} follows default argument")


def _is_classvar(annotation: object) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar"))
    import typing

    return annotation is typing.ClassVar or typing.get_origin(annotation) is typing.ClassVar


def _with_slots(cls: type[T], all_fields: dict[str, Field]) -> type[T]:
    """The class made again with ``__slots__``, as ``dataclasses`` does (slots cannot be added later)."""
    inherited: set[str] = set()
    for base in cls.__mro__[1:-1]:
        declared = base.__dict__.get("__slots__", ())
        inherited.update((declared,) if isinstance(declared, str) else declared)
    namespace = dict(cls.__dict__)
    namespace["__slots__"] = tuple(name for name in all_fields if name not in inherited)
    for name in all_fields:
        namespace.pop(name, None)  # a default lives in __init__, not as a class attribute over the slot
    namespace.pop("__dict__", None)
    namespace.pop("__weakref__", None)
    made = type(cls)(cls.__name__, cls.__bases__, namespace)
    made.__qualname__ = cls.__qualname__
    return made


def _init_on_first_use(cls: type) -> Callable[..., None]:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        compiled = _compile_init(cls)
        cls.__init__ = compiled  # type: ignore[misc]
        compiled(self, *args, **kwargs)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


def _compile_init(cls: type) -> Callable[..., None]:
    """The ``__init__`` ``dataclasses`` would have written for ``cls``'s fields."""
    init_fields = [f for f in cls.__dataclass_fields__.values() if f.init]  # type: ignore[attr-defined]
    self_name = "__dataclass_self__" if "self" in cls.__dataclass_fields__ else "self"  # type: ignore[attr-defined]
    namespace: dict[str, Any] = {"_FACTORY": _FACTORY}
    positional, keyword, body = [], [], []
    for f in init_fields:
        if f.default_factory is not MISSING:
            namespace[f"_factory_{f.name}"] = f.default_factory
            parameter = f"{f.name}=_FACTORY"
            body.append(f"{self_name}.{f.name} = _factory_{f.name}() if {f.name} is _FACTORY else {f.name}")
        else:
            if f.default is not MISSING:
                namespace[f"_default_{f.name}"] = f.default
                parameter = f"{f.name}=_default_{f.name}"
            else:
                parameter = f.name
            body.append(f"{self_name}.{f.name} = {f.name}")
        (keyword if f.kw_only else positional).append(parameter)
    if hasattr(cls, "__post_init__"):
        body.append(f"{self_name}.__post_init__()")
    parameters = [self_name, *positional, *(["*", *keyword] if keyword else [])]
    source = f"def __init__({', '.join(parameters)}):\n    " + ("\n    ".join(body) or "pass") + "\n"
    exec(source, namespace)  # noqa: S102  (as dataclasses does: the generated __init__ is plain attribute stores)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    return init


def _repr(self: Any) -> str:
    cls = type(self)
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in cls.__record_repr__)
    return f"{cls.__qualname__}({shown})"


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    names = self.__class__.__record_compare__
    return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)
