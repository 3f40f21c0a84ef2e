"""protocol.records: our classes are what ``dataclasses.dataclass`` would make.

The protocol (and the parts of core and agent on the start-up path) build
their ~120 classes with ``records.dataclass`` because it is cheaper at
start-up; these tests hold it to the standard decorator, class for class:
every such class described in a fresh interpreter with the standard decorator
swapped in must equal its description as shipped.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import subprocess
import sys
from typing import Any, ClassVar

import pytest

from debugdash.protocol import records
from tests.support import REPO_ROOT

#: Every module whose classes ``records.dataclass`` makes.
_MODULES = [
    *(f"debugdash.protocol.{m}" for m in ("events", "commands", "control", "console", "observe", "requests", "request_events", "session_events")),
    *(f"debugdash.core.{m}" for m in ("state", "allowlist", "audit", "dap_record", "inbox", "requests", "settings")),
    "debugdash.agent.frames", "debugdash.agent.error_groups",
]

# Runs in a fresh interpreter: every protocol class, as the rest of debugdash sees it.
_DESCRIBE = """
import dataclasses, importlib, inspect, json, sys
from debugdash.protocol import records
if sys.argv[1] == "standard":
    records.dataclass = dataclasses.dataclass
def shown(value):
    return "MISSING" if value is dataclasses.MISSING else repr(value)
described = {}
for module_name in %r:
    module = importlib.import_module(module_name)
    for name, cls in sorted(vars(module).items()):
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == module.__name__):
            continue
        required = {f.name: "v-" + f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
        if "time" in cls.__dataclass_fields__:
            required["time"] = 0.0  # events stamp themselves with the clock
        instance = cls(**required)
        init = vars(cls)["__init__"]
        described[module_name + "." + name] = {
            "fields": [[f.name, str(f.type), shown(f.default), shown(f.default_factory), f.kw_only, dict(f.metadata),
                        f.init, f.repr, f.compare] for f in dataclasses.fields(cls)],
            "signature": [[p.name, str(p.kind), shown(p.default)] for p in inspect.signature(init).parameters.values()],
            "slots": list(cls.__dict__.get("__slots__", ["<no slots>"])),
            "has_dict": hasattr(instance, "__dict__"),
            "match_args": list(getattr(cls, "__match_args__", ())),
            "hash": cls.__hash__ is None,
            "repr": repr(instance),
            "equal": instance == dataclasses.replace(instance) and not (instance != dataclasses.replace(instance)),
            "asdict": repr(dataclasses.asdict(instance)),
            "mro": [c.__qualname__ for c in cls.__mro__],
        }
print(json.dumps(described, sort_keys=True))
""" % (_MODULES,)


def _describe(decorator: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", _DESCRIBE, decorator], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(re.sub(r" at 0x[0-9a-f]+", "", result.stdout))  # addresses differ between interpreters


def test_every_class_made_by_records_is_what_the_standard_decorator_makes() -> None:
    standard, shipped = _describe("standard"), _describe("records")
    assert len(standard) > 100  # every message family was described
    assert shipped.keys() == standard.keys()
    different = {name: (standard[name], shipped[name]) for name in standard if standard[name] != shipped[name]}
    assert not different, _first_difference(different)


def _first_difference(different: dict[str, tuple[dict, dict]]) -> str:
    name, (standard, shipped) = next(iter(different.items()))
    return f"{len(different)} classes differ; {name}: " + "; ".join(
        f"{key}: {standard[key]!r} != {shipped[key]!r}" for key in standard if standard[key] != shipped[key]
    )


@pytest.mark.parametrize("decorate", [dataclasses.dataclass, records.dataclass], ids=["standard", "records"])
def test_fields_defaults_factories_and_inheritance_behave_alike(decorate: Any) -> None:
    @decorate(slots=True, kw_only=True)
    class Base:
        kind: ClassVar[str] = "base"
        when: float = 1.0

    @decorate(slots=True, kw_only=True)
    class Child(Base):
        kind: ClassVar[str] = "child"
        name: str
        tags: list[str] = dataclasses.field(default_factory=list)
        note: str = dataclasses.field(default="", metadata={"multiline": True})

    @decorate(slots=True)
    class Point:
        x: int
        y: int = 0

    first, second = Child(name="a"), Child(name="a")
    first.tags.append("t")
    assert second.tags == [] and first.tags == ["t"]  # one list per instance
    assert repr(second) == "test_fields_defaults_factories_and_inheritance_behave_alike.<locals>.Child(when=1.0, name='a', tags=[], note='')"
    assert second == Child(name="a", when=1.0) and second != Child(name="b")
    assert Child.kind == "child" and [f.name for f in dataclasses.fields(Child)] == ["when", "name", "tags", "note"]
    assert dataclasses.fields(Child)[3].metadata["multiline"] is True
    assert dataclasses.replace(second, name="c") == Child(name="c")
    with pytest.raises(TypeError):
        Child("a")  # keyword-only
    with pytest.raises(TypeError):
        Child()  # name is required
    with pytest.raises(TypeError):
        hash(second)
    with pytest.raises(AttributeError):
        second.other = 1  # slots: no attribute outside the fields
    assert Point(1) == Point(1, 0) and Point(2, y=3).y == 3 and Point.__match_args__ == ("x", "y")
    match Point(4, 5):
        case Point(x, y):
            assert (x, y) == (4, 5)


def test_a_mutable_default_or_a_bad_order_is_refused_at_class_creation_as_the_standard_decorator_refuses() -> None:
    with pytest.raises(ValueError, match="default_factory"):

        @records.dataclass
        class Listed:
            items: list[int] = []  # noqa: RUF012

    with pytest.raises(TypeError, match="follows default"):

        @records.dataclass
        class Ordered:
            a: int = 0
            b: int


def test_a_class_is_made_without_compiling_its_methods() -> None:
    # The reason for records: creating a class runs no exec; its first instance compiles __init__ once.
    compiled = []
    original = records._compile_init

    def counting(cls: type) -> Any:
        compiled.append(cls)
        return original(cls)

    records._compile_init = counting
    try:

        @records.dataclass(slots=True, kw_only=True)
        class Lazy:
            a: int = 1

        assert compiled == [] and "**kwargs" in str(inspect.signature(Lazy.__init__))
        assert Lazy().a == 1 and Lazy(a=2).a == 2
        assert compiled == [Lazy] and str(inspect.signature(Lazy.__init__)) == "(self, *, a=1)"
    finally:
        records._compile_init = original
