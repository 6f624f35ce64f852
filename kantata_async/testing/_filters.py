"""Filter behaviours any collection can use, and the readers for filter values.

The readers turn a value as Brainstem hands it over (`FilterValue`) into what a filter needs,
or raise `ApiError` naming the filter: 400 for a list or hash given to a one-value filter,
422 for a value that does not read. The builders (`timestamp`, `equals`, `in_ids`, ...)
return a `Behaviour`; `derive` picks one from a filter's name, type and the collection's
fields, the way most of Kantata's filters are named, so that most collections are declared
without behaviour code of their own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime
from typing import Any

from ._facts import FieldFact
from ._index import Context
from ._schema import Behaviour, FilterValue, Predicate, Record
from ._wire import ACCOUNT_TZ, ApiError, parse_date, parse_datetime

__all__ = [
    "as_bool",
    "as_date",
    "as_datetime",
    "as_id",
    "as_ids",
    "as_text",
    "between",
    "boolean_field",
    "brainstem_value",
    "derive",
    "effective_on",
    "equals",
    "external_reference_behaviour",
    "has_any",
    "has_none",
    "in_ids",
    "not_in_ids",
    "stamp_of",
    "timestamp",
    "tristate",
    "when_true",
]

_DIGITS = re.compile(r"\d+")


def brainstem_value(raw: Any) -> FilterValue | None:
    """A raw parameter as Brainstem's `format_filter_value` passes it to a filter.

    Lists and hashes (Rails' `a[]=` and `a[b]=` forms) as they are; a blank string is no
    value at all; "true"/"TRUE" and "false"/"FALSE" become booleans.
    """
    if isinstance(raw, list | dict):
        return raw
    if raw is None or not str(raw).strip():
        return None
    text = str(raw)
    if text in ("true", "TRUE"):
        return True
    if text in ("false", "FALSE"):
        return False
    return text


def as_text(name: str, value: FilterValue) -> str:
    """The value of a one-value filter as text; 400 for a list or a hash."""
    if isinstance(value, list | dict):
        raise ApiError.system(400, f"Filter '{name}' takes one value, not a list or a hash")
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def as_bool(name: str, value: FilterValue) -> bool:
    """A boolean filter: true, "1" (any case) or "true" is true; anything else is false."""
    if isinstance(value, bool):
        return value
    return as_text(name, value).strip().lower() in ("true", "1")


def as_id(name: str, value: FilterValue) -> str:
    """An id (digits). Anything else becomes "", which matches no record: ActiveRecord casts
    a value that is not a number to NULL, and `id = NULL` matches nothing."""
    text = as_text(name, value).strip()
    return str(int(text)) if _DIGITS.fullmatch(text) else ""


def as_ids(name: str, value: FilterValue, *, limit: int | None = None) -> set[str]:
    """Ids given as "1,2,3" or as a Rails array (`name[]=1&name[]=2`); a part that is not
    an id matches nothing (see `as_id`). 422 when there are more than `limit`."""
    if isinstance(value, dict):
        raise ApiError.system(400, f"Filter '{name}' takes a list of ids, not a hash")
    parts: Iterable[Any] = value if isinstance(value, list) else as_text(name, value).split(",")
    ids = {as_id(name, str(part)) for part in parts if str(part).strip()}
    if limit is not None and len(ids) > limit:
        raise ApiError.validation((name, f"{name} takes at most {limit} values"))
    return ids - {""}


def as_datetime(name: str, value: FilterValue) -> datetime:
    """An ISO 8601 datetime (naive ones in the account's zone); 422 otherwise."""
    return parse_datetime(name, as_text(name, value), ACCOUNT_TZ)


def as_date(name: str, value: FilterValue) -> date:
    """A YYYY-MM-DD date; 422 otherwise."""
    return parse_date(name, as_text(name, value))


def stamp_of(record: Record, field: str) -> datetime | None:
    """The timestamp in `field`, or None."""
    raw = record.get(field)
    return datetime.fromisoformat(raw) if raw else None


# -- builders ------------------------------------------------------------------------------


def timestamp(field: str, *, after: bool) -> Behaviour:
    """Records whose `field` is strictly after (or before) the given datetime."""

    def behaviour(ctx: Context, name: str, value: FilterValue) -> Predicate:
        bound = as_datetime(name, value)

        def check(record: Record) -> bool:
            stamp = stamp_of(record, field)
            return stamp is not None and (stamp > bound if after else stamp < bound)

        return check

    return behaviour


def equals(field: str, *, id_value: bool = False) -> Behaviour:
    """Records whose `field` equals the value (compared as text; an id when `id_value`)."""

    def behaviour(ctx: Context, name: str, value: FilterValue) -> Predicate:
        wanted = as_id(name, value) if id_value else as_text(name, value)
        return lambda record: record.get(field) is not None and str(record[field]) == wanted

    return behaviour


def in_ids(field: str, *, limit: int | None = None) -> Behaviour:
    """Records whose id field `field` is one of the given ids."""

    def behaviour(ctx: Context, name: str, value: FilterValue) -> Predicate:
        wanted = as_ids(name, value, limit=limit)
        return lambda record: record.get(field) is not None and str(record[field]) in wanted

    return behaviour


def not_in_ids(field: str) -> Behaviour:
    """Records whose id field `field` is none of the given ids."""

    def behaviour(ctx: Context, name: str, value: FilterValue) -> Predicate:
        unwanted = as_ids(name, value)
        return lambda record: str(record.get(field)) not in unwanted

    return behaviour


def has_none(field: str) -> Behaviour:
    """Records whose list of ids `field` holds none of the given ids."""

    def behaviour(ctx: Context, name: str, value: FilterValue) -> Predicate:
        unwanted = as_ids(name, value)
        return lambda record: unwanted.isdisjoint(record.get(field) or ())

    return behaviour


def when_true(build: Callable[[Context], Predicate]) -> Behaviour:
    """A boolean filter that narrows with `build(ctx)` when true and keeps everyone when
    false (Brainstem passes false to the filter, which then leaves the scope as it is)."""

    def behaviour(ctx: Context, name: str, value: FilterValue) -> Predicate | None:
        return build(ctx) if as_bool(name, value) else None

    return behaviour


def has_any(field: str) -> Behaviour:
    """Records whose list of ids `field` holds at least one of the given ids."""

    def behaviour(ctx: Context, name: str, value: FilterValue) -> Predicate:
        wanted = as_ids(name, value)
        return lambda record: not wanted.isdisjoint(record.get(field) or ())

    return behaviour


def boolean_field(field: str) -> Behaviour:
    """Records whose boolean `field` equals the value."""

    def behaviour(ctx: Context, name: str, value: FilterValue) -> Predicate:
        wanted = as_bool(name, value)
        return lambda record: bool(record.get(field)) == wanted

    return behaviour


def effective_on(start: str = "start_date", end: str = "end_date") -> Behaviour:
    """Records in effect on the given date: starting on or before it, not ended before it."""

    def behaviour(ctx: Context, name: str, value: FilterValue) -> Predicate:
        day = as_date(name, value).isoformat()
        return lambda record: (
            (record.get(start) or "") <= day and (record.get(end) is None or record[end] >= day)
        )

    return behaviour


def tristate(field: str) -> Behaviour:
    """`only`, `exclude` or `include` the records whose boolean `field` is true."""

    def behaviour(ctx: Context, name: str, value: FilterValue) -> Predicate | None:
        choice = as_text(name, value)
        if choice not in ("only", "exclude", "include"):
            raise ApiError.validation((name, f"{name} must be only, exclude or include"))
        if choice == "include":
            return None
        wanted = choice == "only"
        return lambda record: bool(record.get(field)) == wanted

    return behaviour


def between(field: str) -> Behaviour:
    """Records whose date (or the date of whose timestamp) lies within `start:end`."""

    def behaviour(ctx: Context, name: str, value: FilterValue) -> Predicate:
        start_text, colon, end_text = as_text(name, value).partition(":")
        if not colon:
            raise ApiError.validation((name, f"{name} must look like YYYY-MM-DD:YYYY-MM-DD"))
        start, end = as_date(name, start_text).isoformat(), as_date(name, end_text).isoformat()

        def check(record: Record) -> bool:
            raw = record.get(field)
            day = _local_day(raw) if isinstance(raw, str) else None
            return day is not None and start <= day <= end

        return check

    return behaviour


def _local_day(raw: str) -> str:
    """The date of a date, or of a timestamp in the account's zone."""
    if len(raw) == 10:
        return raw
    return datetime.fromisoformat(raw).astimezone(ACCOUNT_TZ).date().isoformat()


_REFERENCE_FIELDS = {
    "external_message": "external_message",
    "external_status": "external_status",
    "service_model": "service_model",
    "service_model_ref": "service_model_ref",
    "service_name": "service_name",
    "status": "status",
}


def external_reference_behaviour(filter_name: str) -> Behaviour | None:
    """The `external_reference_*`, `has_external_references` and
    `without_external_reference_service_name` filters, for records carrying
    `external_reference_ids`. Several `external_reference_*` filters must match one
    reference together (they join the same table)."""
    if filter_name == "has_external_references":

        def has(ctx: Context, name: str, value: FilterValue) -> Predicate:
            wanted = as_bool(name, value)
            return lambda record: bool(_references(ctx, record)) == wanted

        return has
    if filter_name == "without_external_reference_service_name":

        def without(ctx: Context, name: str, value: FilterValue) -> Predicate:
            service = as_text(name, value)
            return lambda record: all(
                ref.get("service_name") != service for ref in _references(ctx, record)
            )

        return without
    attr = filter_name.removeprefix("external_reference_")
    if not filter_name.startswith("external_reference_"):
        return None
    if attr == "service_model_refs":

        def refs(ctx: Context, name: str, value: FilterValue) -> Predicate:
            wanted = _text_list(name, value, limit=200)
            return _any_reference(ctx, lambda ref: str(ref.get("service_model_ref")) in wanted)

        return refs
    if attr not in _REFERENCE_FIELDS:
        return None

    def one(ctx: Context, name: str, value: FilterValue) -> Predicate:
        wanted = as_text(name, value)
        return _any_reference(ctx, lambda ref: str(ref.get(attr)) == wanted)

    return one


def _text_list(name: str, value: FilterValue, *, limit: int) -> set[str]:
    parts = value if isinstance(value, list) else as_text(name, value).split(",")
    out = {str(part).strip() for part in parts if str(part).strip()}
    if len(out) > limit:
        raise ApiError.validation((name, f"{name} takes at most {limit} values"))
    return out


def _references(ctx: Context, record: Record) -> list[Record]:
    refs = ctx.dataset.records.get("external_references", {})
    return [refs[i] for i in record.get("external_reference_ids") or () if i in refs]


def _any_reference(ctx: Context, test: Callable[[Record], bool]) -> Predicate:
    return lambda record: any(test(ref) for ref in _references(ctx, record))


# -- derivation from the name --------------------------------------------------------------


def derive(name: str, fact: FieldFact, fields: Collection[str]) -> tuple[Behaviour, str] | None:
    """A behaviour for a filter named the way Kantata names its common filters, or None.

    `fields` are the collection's record fields. Recognised: `created_/updated_ after/before`
    and `<x>_after/_before` on `<x>_at`; `effective_date` on start/end dates; a filter named
    after a field (exact; a boolean field compares as a boolean); `<x>_ids`, `by_<x>_ids`,
    `with_<x>_ids` on `<x>_id`; `by_<x>_id`, `with_<x>_id` on `<x>_id`; the external
    reference filters on `external_reference_ids`.
    """
    for suffix, after in (("_after", True), ("_before", False)):
        stem = name.removesuffix(suffix)
        if stem != name and f"{stem}_at" in fields:
            return timestamp(f"{stem}_at", after=after), f"compares {stem}_at"
    stem = name.removesuffix("_between")
    for field in (stem, f"{stem}_at", f"{stem}_date"):
        if stem != name and field in fields:
            return between(field), f"{field} within start:end, both included"
    if name == "effective_date" and {"start_date", "end_date"} <= set(fields):
        return effective_on(), "start_date <= date <= end_date (open end)"
    if name in fields and set(fact.enum) == {"only", "exclude", "include"}:
        return tristate(name), f"only: {name} is true; exclude: it is not; include: both"
    if name in fields:
        if fact.type == "boolean":
            return boolean_field(name), f"{name} equals the value"
        return equals(name, id_value=fact.type == "integer"), f"{name} equals"
    stem = re.sub(r"^(by|with)_", "", name)
    if stem.endswith("_ids") and f"{stem[:-1]}" in fields:
        field = stem[:-1]
        return in_ids(field), f"{field} is one of the ids"
    if stem.endswith("_id") and stem in fields:
        return equals(stem, id_value=True), f"{stem} equals the id"
    if "external_reference_ids" in fields:
        behaviour = external_reference_behaviour(name)
        if behaviour is not None:
            return behaviour, "on the record's external references"
    return None
