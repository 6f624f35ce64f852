"""Field descriptors: how a model reads the server's values out of its `__dict__`.

- A plain field has a non-data descriptor, consulted only when the key is absent, which
  raises `FieldNotLoadedError`: that is how "absent" differs from an explicit `null`. A
  loaded plain field is an ordinary attribute read.
- A converted field (ids, dates, datetimes) has a data descriptor that converts the raw JSON
  value on first read. An int id is stored back as `str`; a date keeps the server's text in
  the dict (so `to_dict` gives it back as sent) and caches the parsed value in the record's
  state, good while that same text is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import attrs

from .._errors import FieldNotLoadedError, PayloadError
from .state import state_of

if TYPE_CHECKING:
    from .base import Model

__all__ = ["field_descriptor", "fixup_kind", "label", "to_datetime"]


def label(obj: Model) -> str:
    """`users/12`: how errors and reprs name a record."""
    return f"{type(obj).__kantata_key__}/{obj.__dict__.get('id', '?')}"


def not_loaded(obj: Model, name: str) -> FieldNotLoadedError:
    """The error for a field no response carried, naming `optional_fields=` when it is one."""
    optional = name in type(obj).__kantata_optional__
    return FieldNotLoadedError(label(obj), name, optional=optional)


def to_datetime(value: str) -> datetime:
    """An ISO 8601 timestamp as an aware datetime (a bare one is taken as UTC)."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _to_id_list(value: list[Any]) -> list[str]:
    return [v if type(v) is str else str(v) for v in value]


def _str_or_same(value: Any) -> Any:
    return str(value) if type(value) is int else value


class _PlainField:
    """Non-data descriptor for a field stored as-is; consulted only when the field is absent."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: Model | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        raise not_loaded(obj, self.name)


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
            raise not_loaded(obj, self.name) from None
        if type(value) is not self.raw_type:
            return value
        if self.raw_type is not str:
            # An int id: the str form is what every reader wants, the stored one included.
            value = d[self.name] = self.convert(value)
            return value
        state = obj._state
        cache = state.converted if state is not None else None
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
            cache = state_of(obj).converted = {}
        cache[self.name] = (value, converted)
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
        d = obj.__dict__
        if self.name not in d:
            raise not_loaded(obj, self.name)
        value = d[self.name]
        if type(value) is list and any(type(v) is not str for v in value):
            value = d[self.name] = _to_id_list(value)
        return value


def fixup_kind(field: attrs.Attribute[Any]) -> str | None:
    """How `to_dict` must touch a field to make its stored value JSON-ready, if at all."""
    name, typ = field.name, str(field.type)
    if name.endswith("_ids"):
        return "ids"
    if name.endswith("_id") or name == "id":
        return "id"
    if "date" in typ:  # date and datetime: ISO text unless set from Python
        return "time"
    return None


def field_descriptor(field: attrs.Attribute[Any]) -> Any:
    """The descriptor a model class gets for one of its attrs fields."""
    name, typ = field.name, str(field.type)
    if name.endswith("_ids"):
        return _IdListField(name)
    if name.endswith("_id") or name == "id":
        # The API sends some foreign keys as ints (workweek_membership.user_id): ids are str.
        return _ConvertedField(name, int, _str_or_same)
    if "datetime" in typ:
        return _ConvertedField(name, str, to_datetime)
    if "date" in typ:
        return _ConvertedField(name, str, date.fromisoformat)
    return _PlainField(name)
