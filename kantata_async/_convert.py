"""The cattrs converter: models to JSON-ready dicts and back, and a strict check for tests.

`Graph.merge` does not structure records through cattrs: a cattrs round trip per record costs
several times the JSON parse (see `benchmarks/normalize.py`), so the graph adopts decoded dicts
and converts values lazily. cattrs serves at the edges instead:

- `to_dict(obj)`: a model's loaded fields (and unknown extras) as JSON-ready values, for
  export rows and write bodies;
- `from_dict(User, {...})`: a standalone model from a JSON-shaped dict, outside any graph;
- `validate(obj)`: structure the object's data again through a strict converter (exact JSON
  types, no unknown fields). Tests use it to catch drift between the API and the models.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, TypeVar

import cattrs
import cattrs.gen
from cattrs.strategies import configure_union_passthrough

from ._errors import PayloadError
from ._models.base import Model, blank
from ._models.fields import to_datetime
from ._models.state import is_placeholder

__all__ = ["converter", "from_dict", "to_dict", "validate"]

M = TypeVar("M", bound=Model)


def _is_model(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, Model)


def _fix(kinds: Mapping[str, str], name: str, value: Any) -> Any:
    """A stored value that is not plain JSON text, made JSON-ready for field `name`."""
    kind = kinds.get(name)
    if kind == "id":
        return str(value) if type(value) is int else value
    if kind == "ids":
        if type(value) is list:
            return [v if type(v) is str else str(v) for v in value]
        return value
    if isinstance(value, date):  # a date or time set in Python, not read from JSON
        return value.isoformat()
    return value


def _unstructure_fields(cls: type[Model], d: dict[str, Any]) -> dict[str, Any]:
    """`to_dict` field by field: the plain version, and the one for dates set in Python."""
    kinds = cls.__kantata_fixups__
    return {
        k: v if (t := type(v)) is str or v is None or t is bool else _fix(kinds, k, v)
        for k, v in d.items()
    }


# Values a record stores as JSON-ready as they are, whatever the field; with ints and lists,
# the types where only id fields may need a change.
_AS_IS = frozenset({str, type(None), bool, float, dict})
_DECODED = _AS_IS | {int, list}


def to_dict(obj: Model) -> dict[str, Any]:
    """`obj`'s loaded fields as JSON-ready values (ISO dates, str ids), plus its extras.

    Absent fields are left out; relations are not followed.
    """
    d = obj.__dict__
    if is_placeholder(obj):
        raise ValueError(f"{type(obj).__name__} {d.get('id')!r} is not loaded")
    # The stored values are the decoded JSON (and nothing else: the graph keeps its own
    # state apart), so a copy is JSON-ready already, but for ids that came as ints and dates
    # or times set in Python. An export writes every field of every record, so the copy is
    # made in C, and the types it holds say which fields need a look.
    row = d.copy()
    types = {*map(type, d.values())}
    if types <= _AS_IS:
        return row
    cls = type(obj)
    if not types <= _DECODED:
        return _unstructure_fields(cls, d)  # a date, or something else `_fix` decides on
    if int in types:
        for name in cls.__kantata_id_fields__:
            if type(value := row.get(name)) is int:
                row[name] = str(value)
    if list in types:
        for name in cls.__kantata_id_list_fields__:
            if type(value := row.get(name)) is list:
                row[name] = [v if type(v) is str else str(v) for v in value]
    return row


def _structure_model(data: Any, cls: type[M]) -> M:
    if not isinstance(data, dict):
        raise TypeError(f"expected a JSON object for {cls.__name__}, got {type(data).__name__}")
    if "id" not in data:
        raise ValueError(f"a {cls.__name__} needs an 'id'")
    obj = blank(cls, dict(data))
    obj.__dict__["id"] = str(data["id"])
    return obj


def _build() -> cattrs.Converter:
    conv = cattrs.Converter()
    conv.register_structure_hook(
        datetime, lambda v, _: v if isinstance(v, datetime) else to_datetime(v)
    )
    conv.register_structure_hook(
        date, lambda v, _: v if isinstance(v, date) else date.fromisoformat(v)
    )
    conv.register_unstructure_hook(datetime, datetime.isoformat)
    conv.register_unstructure_hook(date, date.isoformat)
    conv.register_unstructure_hook_func(_is_model, to_dict)
    conv.register_structure_hook_func(_is_model, _structure_model)
    return conv


converter = _build()
"""The package's one converter, built at import. Lenient: unknown fields are kept."""


def _exact(typ: type) -> Any:
    def check(value: Any, _: Any) -> Any:
        # bool is an int subclass, and JSON numbers may be ints where floats are declared.
        ok = type(value) is typ or (typ is float and type(value) is int)
        if not ok:
            raise TypeError(f"expected {typ.__name__}, got {type(value).__name__} {value!r}")
        return value

    return check


def _build_strict() -> cattrs.Converter:
    conv = converter.copy(forbid_extra_keys=True, detailed_validation=True)
    for typ in (str, int, float, bool):
        conv.register_structure_hook(typ, _exact(typ))
    configure_union_passthrough(int | str | float | bool | None, conv)

    def id_list(value: Any, _: Any) -> list[str]:
        # A string is iterable, so cattrs' own list hook would split "1,2" into characters.
        if type(value) is not list or any(type(v) is not str for v in value):
            raise TypeError(f"expected a list of str, got {value!r}")
        return value

    conv.register_structure_hook_func(lambda t: t == list[str], id_list)

    def structure_model(data: Any, cls: type[M]) -> M:
        # attrs' own __init__ through cattrs' generated function: every field type-checked.
        fn = cattrs.gen.make_dict_structure_fn(cls, conv, _cattrs_forbid_extra_keys=True)
        return fn(data, cls)

    conv.register_structure_hook_func(_is_model, structure_model)
    return conv


_strict = _build_strict()


def from_dict(cls: type[M], data: dict[str, Any]) -> M:
    """A standalone `cls` holding `data` (JSON-shaped), as a graph would, but in no graph."""
    return converter.structure(data, cls)


def validate(obj: Model) -> None:
    """Check every loaded field of `obj` against its declared type, and that none is unknown.

    Raises `PayloadError` listing each problem. For tests: production code should accept
    what the API adds.
    """
    try:
        _strict.structure(to_dict(obj), type(obj))
    except cattrs.BaseValidationError as err:
        problems = "; ".join(cattrs.transform_error(err, path=type(obj).__name__))
        raise PayloadError(f"{type(obj).__name__} {obj.__dict__.get('id')!r}: {problems}") from err
    except (TypeError, ValueError) as err:
        raise PayloadError(f"{type(obj).__name__} {obj.__dict__.get('id')!r}: {err}") from err
