"""The `by_custom_*_value` filters, for any record carrying `custom_field_value_ids`.

Their syntax, as Kantata documents it: a custom field id, a colon and the value
(`12:North`); several fields separated by semicolons (`12:3;14:5`) or each in parentheses,
joined by colons (`(12:3,4):(14:5)`). The same field given twice matches either value;
different fields must all match. Per type:

- choice: `field:choice_id[,choice_id]` (any of them is selected) or `field:blank` (none is);
- currency: `field:amount` or `field:amount:ISO`;
- date: `field:start:end`, `field:start` (on or after) or `field::end` (on or before);
- number: `field:number`;
- text: `field:text` (the value contains it, any case) or a bare `field` (any value).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from ._filters import as_ids, as_text
from ._index import Context
from ._schema import Behaviour, FilterValue, Predicate, Record
from ._wire import ApiError

__all__ = ["by_custom_value", "has_value_for"]

_GROUP = re.compile(r"\(([^()]*)\)")
# What a clause tests on one custom field value (None: the record has no value for it).
Test = Callable[[Record | None], bool]


def _clauses(name: str, value: FilterValue) -> list[tuple[str, str]]:
    text = as_text(name, value).strip()
    groups = _GROUP.findall(text) if text.startswith("(") else text.split(";")
    out = []
    for group in groups:
        field_id, _, rest = group.strip().partition(":")
        if not field_id.strip().isdigit():
            raise ApiError.validation(
                (name, f"{name} must look like custom_field_id:value, got {group!r}")
            )
        out.append((str(int(field_id)), rest.strip()))
    if not out:
        raise ApiError.validation((name, f"{name} names no custom field"))
    return out


def _number(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ApiError.validation((name, f"{name}: {text!r} is not a number")) from None


def _day(name: str, text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError.validation((name, f"{name}: {text!r} is not a YYYY-MM-DD date")) from None


def _choice(name: str, rest: str) -> Test:
    wanted = {part.strip() for part in rest.split(",") if part.strip()}
    blank = "blank" in wanted
    ids = wanted - {"blank"}
    if not all(i.isdigit() for i in ids):
        raise ApiError.validation((name, f"{name}: choices must be ids or 'blank', got {rest!r}"))

    def test(cfv: Record | None) -> bool:
        selected = set((cfv or {}).get("selected_choice_ids") or ())
        return (blank and not selected) or not ids.isdisjoint(selected)

    return test


def _currency(name: str, rest: str) -> Test:
    amount_text, _, code = rest.partition(":")
    amount = _number(name, amount_text)
    return lambda cfv: (
        cfv is not None
        and isinstance(cfv.get("value"), int | float)
        and abs(float(cfv["value"]) - amount) < 0.005
        and (not code or cfv.get("currency") == code.strip().upper())
    )


def _date(name: str, rest: str) -> Test:
    start_text, _, end_text = rest.partition(":")
    start, end = _day(name, start_text.strip()), _day(name, end_text.strip())
    if start is None and end is None:
        raise ApiError.validation((name, f"{name} needs a start date, an end date or both"))

    def test(cfv: Record | None) -> bool:
        raw = (cfv or {}).get("value")
        if not isinstance(raw, str):
            return False
        day = date.fromisoformat(raw)
        return (start is None or day >= start) and (end is None or day <= end)

    return test


def _number_test(name: str, rest: str) -> Test:
    number = _number(name, rest)
    return lambda cfv: (
        cfv is not None
        and isinstance(cfv.get("value"), int | float)
        and float(cfv["value"]) == number
    )


def _text(name: str, rest: str) -> Test:
    needle = rest.casefold()
    if not rest:
        return lambda cfv: cfv is not None and cfv.get("value") not in (None, "")
    return lambda cfv: cfv is not None and needle in str(cfv.get("value") or "").casefold()


_KINDS: dict[str, tuple[frozenset[str], Callable[[str, str], Test]]] = {
    "choice": (frozenset({"single", "multi"}), _choice),
    "currency": (frozenset({"currency"}), _currency),
    "date": (frozenset({"date"}), _date),
    "number": (frozenset({"number"}), _number_test),
    "text": (frozenset({"string"}), _text),
}


def _values_of(ctx: Context, record: Record) -> dict[str, Record]:
    values = ctx.dataset.records.get("custom_field_values", {})
    out: dict[str, Record] = {}
    for value_id in record.get("custom_field_value_ids") or ():
        cfv = values.get(value_id)
        if cfv is not None:
            out[str(cfv.get("custom_field_id"))] = cfv
    return out


def by_custom_value(kind: str) -> Behaviour:
    """The `by_custom_<kind>_value` filter (`kind`: choice, currency, date, number, text).

    A clause on a field of another type matches nothing, as a typed column would.
    """
    types, build = _KINDS[kind]

    def behaviour(ctx: Context, name: str, value: FilterValue) -> Predicate:
        fields = ctx.dataset.records.get("custom_fields", {})
        per_field: dict[str, list[Test]] = {}
        for field_id, rest in _clauses(name, value):
            test = build(name, rest)
            if (fields.get(field_id) or {}).get("value_type") not in types:
                test = _never
            per_field.setdefault(field_id, []).append(test)

        def check(record: Record) -> bool:
            mine = _values_of(ctx, record)
            return all(
                any(test(mine.get(field_id)) for test in tests)
                for field_id, tests in per_field.items()
            )

        return check

    return behaviour


def _never(cfv: Any) -> bool:
    return False


def has_value_for(ctx: Context, name: str, value: FilterValue) -> Predicate:
    """`has_value_for_custom_field_ids`: a value for at least one of the listed fields."""
    wanted = as_ids(name, value)
    return lambda record: not wanted.isdisjoint(_values_of(ctx, record))
