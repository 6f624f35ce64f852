"""Turning typed keyword arguments into Kantata query strings, and checking them first.

Pure functions: every check raises `ValueError` naming the parameter (and the valid choices)
before any request is sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any

__all__ = [
    "BodyKind",
    "Kind",
    "WriteBody",
    "check_choice",
    "check_id",
    "check_names",
    "check_per_page",
    "chunks",
    "encode_body",
    "encode_params",
]

_ID = re.compile(r"[0-9]{1,19}")
MAX_PER_PAGE = 200


class Kind(Enum):
    """How a query parameter is written on the wire."""

    BOOL = "bool"  # true / false
    INT = "int"
    ID = "id"  # one Kantata id
    IDS = "ids"  # ids, comma-joined
    STR = "str"
    STRS = "strs"  # strings, comma-joined
    DATE = "date"  # YYYY-MM-DD
    DATETIME = "datetime"  # ISO 8601 with offset
    JSONISH = "jsonish"  # a string as is, or a mapping written as JSON


def check_id(value: Any, name: str = "id") -> str:
    """A Kantata id as `str`: digits only, so it cannot change a URL path."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{name} must be a Kantata id (digits), got {type(value).__name__}")
    text = str(value)
    if not _ID.fullmatch(text):
        raise ValueError(f"{name} must be a Kantata id (digits only), got {text!r}")
    if len(text) > 1 and text[0] == "0":
        # Rails reads "05" as record 5, which the graph holds as "5": one record, two names.
        raise ValueError(f"{name} must be a Kantata id without leading zeros, got {text!r}")
    return text


def check_choice(value: str, name: str, valid: Iterable[str]) -> str:
    """`value` if it is one of `valid`, else a ValueError listing them."""
    choices = list(valid)
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not valid; choose one of: {', '.join(choices)}")
    return value


def check_names(values: Sequence[str] | str, name: str, valid: Iterable[str]) -> list[str]:
    """Each of `values` must be one of `valid` (an include list, optional fields)."""
    if isinstance(values, str):
        raise ValueError(f"{name} must be a list of names, not a string: use [{values!r}]")
    choices = sorted(valid)
    out = []
    for v in values:
        if v not in choices:
            raise ValueError(f"{name}: {v!r} is not valid here; choose from: {', '.join(choices)}")
        if v not in out:
            out.append(v)
    return out


def check_per_page(value: int) -> int:
    """Kantata silently clamps per_page; the SDK says so instead."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PER_PAGE:
        raise ValueError(f"per_page must be an int from 1 to {MAX_PER_PAGE}, got {value!r}")
    return value


def chunks(ids: Sequence[str]) -> list[list[str]]:
    """`ids` without repeats, in requests of at most 200 (Kantata's page size limit)."""
    unique = list(dict.fromkeys(ids))
    return [unique[i : i + MAX_PER_PAGE] for i in range(0, len(unique), MAX_PER_PAGE)]


def _encode(name: str, kind: Kind, value: Any) -> str:
    if kind is Kind.BOOL:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be a bool, got {value!r}")
        return "true" if value else "false"
    if kind is Kind.INT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an int, got {value!r}")
        return str(value)
    if kind is Kind.ID:
        return check_id(value, name)
    if kind is Kind.IDS:
        if isinstance(value, str | int):
            raise ValueError(f"{name} must be a list of ids, got {value!r}")
        ids = [check_id(v, name) for v in value]
        if not ids:
            raise ValueError(f"{name} must not be empty")
        return ",".join(ids)
    if kind is Kind.STR:
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a str, got {type(value).__name__}")
        return value
    if kind is Kind.STRS:
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{name} must be a list of str, got {value!r}")
        if any("," in v for v in value):
            raise ValueError(f"{name}: values cannot contain a comma (the list separator)")
        return ",".join(value)
    if kind is Kind.DATE:
        if isinstance(value, datetime) or not isinstance(value, date):
            raise ValueError(f"{name} must be a datetime.date, got {value!r}")
        return value.isoformat()
    if kind is Kind.DATETIME:
        if not isinstance(value, datetime):
            raise ValueError(f"{name} must be a datetime.datetime, got {value!r}")
        if value.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware (Kantata compares instants)")
        return value.isoformat()
    # Kind.JSONISH
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return json.dumps(value, separators=(",", ":"))
    raise ValueError(f"{name} must be a str or a mapping, got {type(value).__name__}")


def encode_params(
    spec: Mapping[str, Kind], values: Mapping[str, Any], wire: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Query parameters for the non-None `values`, each written as `spec` says.

    `wire` renames the parameters whose Python name is not their wire name (`except_`).
    Raises `ValueError` for a name `spec` does not know, listing the valid ones.
    """
    unknown = sorted(set(values) - set(spec))
    if unknown:
        raise ValueError(
            f"unknown filter(s) {', '.join(unknown)}; valid: {', '.join(sorted(spec)) or 'none'}"
        )
    out = {}
    for name, value in values.items():
        if value is None:
            continue
        out[(wire or {}).get(name, name)] = _encode(name, spec[name], value)
    return out


class BodyKind(Enum):
    """How a write-body field is checked and sent (as a JSON value)."""

    ID = "id"  # a Kantata id, sent as a JSON number
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    STR = "str"
    DATE = "date"  # a datetime.date, sent as YYYY-MM-DD
    DATETIME = "datetime"  # an aware datetime, sent in ISO 8601
    OBJECT = "object"  # a mapping, sent as a JSON object
    LIST = "list"
    ANY = "any"


@dataclass(frozen=True)
class WriteBody:
    """The fields a write takes, under its wrapper key (`{"time_entry": {...}}`)."""

    wrapper: str
    fields: Mapping[str, BodyKind]
    required: frozenset[str] = frozenset()
    wire: Mapping[str, str] = field(default_factory=dict)


def _body_value(name: str, kind: BodyKind, value: Any) -> Any:
    if kind is BodyKind.ID:
        return int(check_id(value, name))
    if kind is BodyKind.INT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an int, got {value!r}")
        return value
    if kind is BodyKind.FLOAT:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} must be a number, got {value!r}")
        return value
    if kind is BodyKind.OBJECT:
        if not isinstance(value, Mapping):
            raise ValueError(f"{name} must be a mapping, got {type(value).__name__}")
        return dict(value)
    if kind is BodyKind.LIST:
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            raise ValueError(f"{name} must be a list, got {type(value).__name__}")
        return list(value)
    if kind is BodyKind.ANY:
        return value
    # BOOL, STR, DATE and DATETIME are written as the query parameters of their kind are.
    text = _encode(name, Kind[kind.name], value)
    return value if kind is BodyKind.BOOL else text


def encode_body(spec: WriteBody, values: Mapping[str, Any]) -> dict[str, Any]:
    """`{wrapper: {...}}` holding the non-None `values`, each checked as `spec` says.

    Raises `ValueError` for an unknown field (listing the valid ones), a required one
    missing, a value of the wrong type, or nothing to send.
    """
    unknown = sorted(set(values) - set(spec.fields))
    if unknown:
        raise ValueError(
            f"{spec.wrapper}: unknown field(s) {', '.join(unknown)}; "
            f"valid: {', '.join(sorted(spec.fields))}"
        )
    given = {k: v for k, v in values.items() if v is not None}
    missing = sorted(spec.required - set(given))
    if missing:
        raise ValueError(f"{spec.wrapper}: {', '.join(missing)} required")
    if not given:
        raise ValueError(f"nothing to send: pass at least one {spec.wrapper} field")
    return {
        spec.wrapper: {
            spec.wire.get(k, k): _body_value(k, spec.fields[k], v) for k, v in given.items()
        }
    }
