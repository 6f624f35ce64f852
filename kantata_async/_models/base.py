"""The machinery under every model: the base class, the registry and the record classes.

A model instance keeps the server's data in its `__dict__`, which is the very dict that came
out of the JSON decoder (the graph adopts it rather than copying it field by field), and
nothing else: every JSON key is data. The graph's own bookkeeping (resolved links, records
linking here, placeholders, parsed dates, write order) lives in the `_links` and `_state`
slots, which no JSON key can reach (see `_state`). Fields are descriptors (`_fields`),
relations read-only data descriptors (`_relations`).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar, cast

import attrs

from .._errors import PayloadError
from .fields import field_descriptor, fixup_kind, label
from .relations import Many, One, Relation
from .state import RecordState, is_placeholder

__all__ = [
    "ABSENT",
    "Many",
    "Model",
    "One",
    "Record",
    "blank",
    "define",
    "is_loaded",
    "loaded_fields",
    "model",
    "record_class",
]

M = TypeVar("M", bound="Model")


class _Absent:
    """The default of every model field: the field was never loaded."""

    _instance: ClassVar[_Absent | None] = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


# Typed as Any so that `full_name: str | None = ABSENT` type-checks: the value never
# survives construction (`Model.__attrs_post_init__` removes it).
ABSENT: Any = _Absent()


class Model:
    """Base of every Kantata record class.

    Instances are normally made by `Graph.merge`, one per `(key, id)`, and updated in place.
    They can also be built directly (`User(id="1", full_name="Ann")`); fields left out are
    absent, as if no response had carried them.
    """

    # `__dict__` holds the server's fields only; the graph's bookkeeping sits in the slots.
    __slots__ = ("__dict__", "__weakref__", "_links", "_state")

    _links: dict[str, Any]
    _state: RecordState | None

    __kantata_key__: ClassVar[str] = ""
    __kantata_fields__: ClassVar[frozenset[str]] = frozenset()
    # Fields the API sends only when asked for with `optional_fields=`.
    __kantata_optional__: ClassVar[frozenset[str]] = frozenset()
    __kantata_relations__: ClassVar[Mapping[str, Relation]] = {}
    # field -> "id" | "ids" | "time": the fields `to_dict` may have to convert.
    __kantata_fixups__: ClassVar[Mapping[str, str]] = {}
    # Its "id" and "ids" fields: where `to_dict` looks for ints to turn into text.
    __kantata_id_fields__: ClassVar[tuple[str, ...]] = ()
    __kantata_id_list_fields__: ClassVar[tuple[str, ...]] = ()

    def __attrs_post_init__(self) -> None:
        self._links = {}
        self._state = None
        d = self.__dict__
        for name in [k for k, v in d.items() if v is ABSENT]:
            del d[name]

    @property
    def extra(self) -> dict[str, Any]:
        """Fields the server sent that this model does not declare (the API adds fields)."""
        known = type(self).__kantata_fields__
        return {k: v for k, v in self.__dict__.items() if k not in known}

    def __repr__(self) -> str:
        d = self.__dict__
        if is_placeholder(self):
            return f"<{type(self).__name__} {label(self)} (not loaded)>"
        known = type(self).__kantata_fields__
        parts = []
        for k in list(d):
            if k in known and k != "id":
                try:
                    value = getattr(self, k)
                except PayloadError:  # a repr never raises: show what the server sent
                    value = d[k]
                parts.append(f"{k}={value!r}")
        shown = ", ".join(parts)
        return f"{type(self).__name__}(id={d.get('id')!r}{', ' if shown else ''}{shown})"


def blank(cls: type[M], data: dict[str, Any]) -> M:
    """A `cls` instance whose data is `data` (adopted, not copied), outside any graph."""
    obj = cls.__new__(cls)
    obj.__dict__ = data
    obj._links = {}
    obj._state = None
    return obj


_REGISTRY: dict[str, type[Model]] = {}

define = attrs.define(eq=False, kw_only=True, slots=False, repr=False)
"""How a model class is declared: dict-backed (the graph adopts the decoded JSON object as
the instance dict), identity-compared, every field keyword-only."""


def model(key: str, *, optional: frozenset[str] = frozenset()) -> Callable[[type[M]], type[M]]:
    """Register an attrs model class for a top-level response key and install its descriptors.

    Apply it above `@define`: the instance dict must exist, because the graph adopts the
    decoded JSON object as that dict. `optional` names the fields the API sends only when
    asked for with `optional_fields=`.
    """

    def register(cls: type[M]) -> type[M]:
        cls.__kantata_optional__ = optional
        fields = attrs.fields(cast(Any, cls))
        for f in fields:
            setattr(cls, f.name, field_descriptor(f))
        cls.__kantata_key__ = key
        cls.__kantata_fields__ = frozenset(f.name for f in fields)
        cls.__kantata_fixups__ = fixups = {
            f.name: kind for f in fields if (kind := fixup_kind(f)) is not None
        }
        cls.__kantata_id_fields__ = tuple(k for k, kind in fixups.items() if kind == "id")
        cls.__kantata_id_list_fields__ = tuple(k for k, kind in fixups.items() if kind == "ids")
        cls.__kantata_relations__ = {
            name: rel for name, rel in vars(cls).items() if isinstance(rel, Relation)
        }
        _REGISTRY[key] = cls
        return cls

    return register


@attrs.define(eq=False, kw_only=True, slots=False, repr=False)
class Record(Model):
    """A record under a top-level key this SDK has no model for; every field is in `extra`."""

    id: str


# A server can send any number of unknown keys: their classes live as long as their records.
_record_classes: weakref.WeakValueDictionary[str, type[Model]] = weakref.WeakValueDictionary()


def record_class(key: str) -> type[Model]:
    """The model class for `key`: the registered one, or a `Record` subclass made for it.

    A class made for an unknown key is held only by its instances (and by the graph while
    they live), so a server that sends thousands of odd keys does not grow the process.
    """
    cls = _REGISTRY.get(key)
    if cls is not None:
        return cls
    rec = _record_classes.get(key)
    if rec is None:
        name = "".join(p.capitalize() for p in re.split(r"[^A-Za-z0-9]+", key) if p) + "Record"
        rec = type(name, (Record,), {"__kantata_key__": key})
        rec.__kantata_fields__ = frozenset({"id"})
        _record_classes[key] = rec
    return rec


def wire_inverses() -> None:
    """Tell each forward link which inverse relations it feeds; run once all models exist."""
    for cls in _REGISTRY.values():
        for rel in cls.__kantata_relations__.values():
            if not rel.inverse_of:
                continue
            assert rel.target is not None, f"{cls.__name__}.{rel.name}: inverse needs a target"
            forward = _REGISTRY[rel.target].__kantata_relations__[rel.inverse_of]
            assert forward.field and not forward.many, f"{forward.name} cannot feed an inverse"
            assert not (rel.weak and forward.poly), "a polymorphic link feeds strong inverses only"
            forward.feeds[cls.__kantata_key__] = rel


def is_loaded(obj: Model, name: str) -> bool:
    """Whether field or relation `name` of `obj` can be read without a not-loaded error."""
    rel = type(obj).__kantata_relations__.get(name)
    if rel is not None:
        return rel.targets(obj) is not None
    return name in obj.__dict__


def loaded_fields(obj: Model) -> dict[str, Any]:
    """The declared fields that are loaded, read through their descriptors (converted)."""
    known = type(obj).__kantata_fields__
    return {k: getattr(obj, k) for k in list(obj.__dict__) if k in known}
