"""The machinery under every model: field descriptors, relations and the model registry.

A model instance keeps its data in its `__dict__`, which is the very dict that came out of
the JSON decoder (the graph adopts it rather than copying it field by field). On top of that
dict sit:

- plain fields: no class attribute at all while loaded, so reading one is an ordinary
  attribute read; a non-data descriptor answers only when the key is absent and raises
  `FieldNotLoadedError`, which is how "absent" differs from an explicit `null`;
- converted fields (ids, dates, datetimes): a data descriptor converts the raw JSON value on
  first read and caches the result in the same dict;
- relations: data descriptors that read the strong references the graph stored under
  private keys when it merged the record: `"@<name>"` holds the target (or a tuple of them),
  `"~<name>"` the list of records whose own link points here (an inverse relation).

Private keys start with `@` or `~`, which no Kantata field name does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Generic, TypeVar, cast, overload

import attrs

from .._errors import (
    DanglingReferenceError,
    FieldNotLoadedError,
    PayloadError,
    RelationNotLoadedError,
)

__all__ = ["ABSENT", "Many", "Model", "One", "Record", "is_loaded", "loaded_fields", "model"]

T = TypeVar("T")
M = TypeVar("M", bound="Model")

STUB = "@stub"
"""Marks a placeholder: an object the graph knows only by id, because a link named it."""

OLDER = "@older"
CONVERTED = "@converted"
"""Parsed dates and times, by field, next to the text they were parsed from."""
INVERSE = "~"
"""Prefix of the slot holding the records that link to an object (strongly)."""
WEAK_INVERSE = "%"
"""Prefix of the slot holding weak references to the records that link to a hub."""
PRIVATE = ("@", INVERSE, WEAK_INVERSE)
"""First characters of the keys the graph keeps in a record's dict; no JSON field has them."""
"""Per-key `updated_at` of fields that came from a payload older than the record's newest."""


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


def label(obj: Model) -> str:
    """`users/12`: how errors and reprs name a record."""
    return f"{type(obj).__kantata_key__}/{obj.__dict__.get('id', '?')}"


# ---------------------------------------------------------------------------
# fields


class _PlainField:
    """Non-data descriptor for a field stored as-is; consulted only when the field is absent."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: Model | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        raise FieldNotLoadedError(label(obj), self.name)


def _to_datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    # Kantata sends offsets; a bare timestamp is taken as UTC so every datetime is aware.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _to_id_list(value: list[Any]) -> list[str]:
    return [v if type(v) is str else str(v) for v in value]


def _str_or_same(value: Any) -> Any:
    return str(value) if type(value) is int else value


class _ConvertedField:
    """Data descriptor that turns the raw JSON value into its Python type on first read."""

    __slots__ = ("convert", "name", "raw_type")

    def __init__(self, name: str, raw_type: type, convert: Callable[[Any], Any]) -> None:
        self.name = name
        self.raw_type = raw_type  # values of this exact type still need converting
        self.convert = convert

    def __get__(self, obj: Model | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        d = obj.__dict__
        try:
            value = d[self.name]
        except KeyError:
            raise FieldNotLoadedError(label(obj), self.name) from None
        if type(value) is not self.raw_type:
            return value
        if self.raw_type is not str:
            # An int id: the str form is what every reader wants, the stored one included.
            value = d[self.name] = self.convert(value)
            return value
        # A date or time: the server's text stays as it came (`to_dict` gives it back as is);
        # the parsed value is kept beside it, good while that same text is stored.
        cache: dict[str, tuple[str, Any]] | None = d.get(CONVERTED)
        if cache is not None:
            hit = cache.get(self.name)
            if hit is not None and hit[0] is value:
                return hit[1]
        try:
            converted = self.convert(value)
        except (TypeError, ValueError) as err:
            raise PayloadError(
                f"{label(obj)}.{self.name}: cannot convert {value!r}: {err}"
            ) from err
        if cache is None:
            cache = d[CONVERTED] = {}
        cache[self.name] = (cast(str, value), converted)
        return converted

    def __set__(self, obj: Model, value: Any) -> None:
        obj.__dict__[self.name] = value


class _IdListField(_ConvertedField):
    """`*_ids`: a list whose items may arrive as ints; checked item by item."""

    def __init__(self, name: str) -> None:
        super().__init__(name, list, _to_id_list)

    def __get__(self, obj: Model | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__.get(self.name, ABSENT)
        if value is ABSENT:
            raise FieldNotLoadedError(label(obj), self.name)
        if value is not None and any(type(v) is not str for v in value):
            value = obj.__dict__[self.name] = _to_id_list(value)
        return value


def _fixup(field: attrs.Attribute[Any]) -> str | None:
    """How `to_dict` must touch a field to make its stored value JSON-ready, if at all."""
    name, typ = field.name, str(field.type)
    if name.endswith("_ids"):
        return "ids"
    if name.endswith("_id") or name == "id":
        return "id"
    if "date" in typ:  # date and datetime: ISO text unless a read converted it
        return "time"
    return None


def _field_descriptor(field: attrs.Attribute[Any]) -> Any:
    name, typ = field.name, str(field.type)
    if name.endswith("_ids"):
        return _IdListField(name)
    if name.endswith("_id") or name == "id":
        # The API sends some foreign keys as ints (workweek_membership.user_id): ids are str.
        return _ConvertedField(name, int, _str_or_same)
    if "datetime" in typ:
        return _ConvertedField(name, str, _to_datetime)
    if "date" in typ:
        return _ConvertedField(name, str, date.fromisoformat)
    return _PlainField(name)


# ---------------------------------------------------------------------------
# relations


class _Relation:
    """What `One` and `Many` share: where the references live and how to explain a gap."""

    __slots__ = (
        "feeds",
        "field",
        "include",
        "inverse_of",
        "inverse_slot",
        "name",
        "poly",
        "slot",
        "target",
        "weak",
    )

    many: ClassVar[bool]

    def __init__(
        self,
        target: str | None,
        *,
        field: str | None = None,
        include: str | None = None,
        inverse_of: str | None = None,
        weak: bool = False,
    ) -> None:
        self.target = target  # top-level key of the records it points at; None: polymorphic
        self.field = field  # the JSON field holding the ids, if this side holds them
        self.include = include  # the include= value that makes the server send the ids
        self.inverse_of = inverse_of  # the relation on the target that points back here
        # A hub (a skill, a workweek) holds the records pointing at it weakly: it does not
        # own them, and holding them strongly would keep the whole graph alive through it.
        self.weak = weak
        self.name = ""
        self.slot = ""
        self.inverse_slot = ""
        # Polymorphic (`subject_ref`): the `(subject_type, subject_id)` pair that names the
        # target when the `_ref` itself was not sent.
        self.poly: tuple[str, str] | None = None
        if target is None and field is not None:
            stem = field.removesuffix("_refs").removesuffix("_ref")
            self.poly = (stem + "_type", stem + "_id")
        # Filled by `wire_inverses`: target key -> inverse slot this link feeds on the target.
        self.feeds: dict[str, str] = {}

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.slot = "@" + name if self.field else ""
        prefix = WEAK_INVERSE if self.weak else INVERSE
        self.inverse_slot = prefix + name if self.inverse_of else ""

    def targets(self, obj: Model) -> list[Model] | None:
        """What this relation of `obj` links to, placeholders included; None if not loaded.

        For a one-relation the list has at most one record: the target, or for an inverse
        link the record that linked here most recently.
        """
        d = obj.__dict__
        if self.slot and self.slot in d:
            value = d[self.slot]
            if value is None:
                return []
            return list(value) if self.many else [value]
        if self.inverse_slot and self.inverse_slot in d:
            inverse = d[self.inverse_slot]
            if self.weak:
                inverse = [t for t in (ref() for ref in inverse) if t is not None]
            return list(inverse) if self.many else inverse[-1:]
        return None

    def _not_loaded(self, obj: Model) -> RelationNotLoadedError:
        if self.field:
            how = f"no response has carried its ids ({self.field})."
            if self.include:
                how += f" Request it with include={self.include!r}."
        else:
            how = (
                f"it is derived from {self.target}.{self.inverse_of}, and no "
                f"{self.target} record pointing here has been merged (nor has the "
                f"relation been marked loaded with Graph.mark_loaded)."
            )
        return RelationNotLoadedError(label(obj), self.name, how)

    def _dangling(self, obj: Model, stubs: list[Model]) -> DanglingReferenceError:
        key = type(stubs[0]).__kantata_key__
        return DanglingReferenceError(label(obj), self.name, key, [s.__dict__["id"] for s in stubs])


class One(_Relation, Generic[T]):
    """A relation to at most one record: `user.role`, `workweek_membership.user`.

    Reading it returns the live object, `None` when the server said there is none, raises
    `RelationNotLoadedError` when no response carried the id, and `DanglingReferenceError`
    when the id arrived but the record never did.
    """

    __slots__ = ()
    many = False

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> One[T]: ...
    @overload
    def __get__(self, obj: Model, owner: type | None = None) -> T | None: ...

    def __get__(self, obj: Model | None, owner: type | None = None) -> One[T] | T | None:
        if obj is None:
            return self
        found = self.targets(obj)
        if found is None:
            raise self._not_loaded(obj)
        if not found:
            return None
        target = found[0]
        if STUB in target.__dict__:
            raise self._dangling(obj, [target])
        return target  # type: ignore[return-value]


class Many(_Relation, Generic[T]):
    """A relation to a list of records: `user.skills`, `workweek.workweek_memberships`.

    Returns a new list on every read (changing it does not change the graph); `[]` when the
    server sent no ids. Errors as for `One`.
    """

    __slots__ = ()
    many = True

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Many[T]: ...
    @overload
    def __get__(self, obj: Model, owner: type | None = None) -> list[T]: ...

    def __get__(self, obj: Model | None, owner: type | None = None) -> Many[T] | list[T]:
        if obj is None:
            return self
        targets = self.targets(obj)
        if targets is None:
            raise self._not_loaded(obj)
        stubs = [t for t in targets if STUB in t.__dict__]
        if stubs:
            raise self._dangling(obj, stubs)
        return targets  # type: ignore[return-value]


# ---------------------------------------------------------------------------
# models


class Model:
    """Base of every Kantata record class.

    Instances are normally made by `Graph.merge`, one per `(key, id)`, and updated in place.
    They can also be built directly (`User(id="1", full_name="Ann")`); fields left out are
    absent, as if no response had carried them.
    """

    __kantata_key__: ClassVar[str] = ""
    __kantata_fields__: ClassVar[frozenset[str]] = frozenset()
    __kantata_relations__: ClassVar[Mapping[str, _Relation]] = {}
    # field -> "id" | "ids" | "time": the fields `to_dict` may have to convert.
    __kantata_fixups__: ClassVar[Mapping[str, str]] = {}

    def __attrs_post_init__(self) -> None:
        d = self.__dict__
        for name in [k for k, v in d.items() if v is ABSENT]:
            del d[name]

    @property
    def extra(self) -> dict[str, Any]:
        """Fields the server sent that this model does not declare (the API adds fields)."""
        known = type(self).__kantata_fields__
        return {k: v for k, v in self.__dict__.items() if k not in known and k[:1] not in PRIVATE}

    def __repr__(self) -> str:
        d = self.__dict__
        if STUB in d:
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


_REGISTRY: dict[str, type[Model]] = {}


def model(key: str) -> Callable[[type[M]], type[M]]:
    """Register an attrs model class for a top-level response key and install its descriptors.

    Apply it above `@attrs.define(slots=False, ...)`: the instance dict must exist, because
    the graph adopts the decoded JSON object as that dict.
    """

    def register(cls: type[M]) -> type[M]:
        fields = attrs.fields(cast(Any, cls))
        for f in fields:
            setattr(cls, f.name, _field_descriptor(f))
        cls.__kantata_key__ = key
        cls.__kantata_fields__ = frozenset(f.name for f in fields)
        cls.__kantata_fixups__ = {f.name: kind for f in fields if (kind := _fixup(f)) is not None}
        cls.__kantata_relations__ = {
            name: rel for name, rel in vars(cls).items() if isinstance(rel, _Relation)
        }
        _REGISTRY[key] = cls
        return cls

    return register


@attrs.define(eq=False, kw_only=True, slots=False, repr=False)
class Record(Model):
    """A record under a top-level key this SDK has no model for; every field is in `extra`."""

    id: str


_record_classes: dict[str, type[Record]] = {}


def record_class(key: str) -> type[Model]:
    """The model class for `key`: the registered one, or a `Record` subclass made for it."""
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
            forward.feeds[cls.__kantata_key__] = rel.inverse_slot


def is_loaded(obj: Model, name: str) -> bool:
    """Whether field or relation `name` of `obj` has been carried by some response."""
    d = obj.__dict__
    rel = type(obj).__kantata_relations__.get(name)
    if rel is not None:
        return bool(rel.slot and rel.slot in d) or bool(rel.inverse_slot and rel.inverse_slot in d)
    return name in d


def loaded_fields(obj: Model) -> dict[str, Any]:
    """The declared fields that are loaded, read through their descriptors (converted)."""
    known = type(obj).__kantata_fields__
    return {k: getattr(obj, k) for k in list(obj.__dict__) if k in known}
