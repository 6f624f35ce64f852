"""`declare()`: a collection's declaration, from the facts plus the fake's own behaviour.

The facts (`_facts.py`) give the names: fields, includes, optional fields, filters, orders and
routes. The declaration adds what only the fake knows: how each filter is applied (or that it
is refused, and why), extra fields Kantata sends, fields it computes, base scope and default
filters, and which handler serves which route. Whatever the facts document and the
declaration does not cover is derived from its name where it can be (`_filters.derive`,
orders on a field) and refused otherwise, so nothing documented is silently ignored.

The fake reads only these declarations and the facts, never the SDK's tables: it is a check
on the SDK, so it must not share its mistakes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from . import _facts
from ._filters import derive
from ._index import Context
from ._routes import plain
from ._schema import (
    Behaviour,
    Collection,
    Computed,
    DefaultFilter,
    Filter,
    Include,
    Predicate,
    Record,
    Route,
    SortKey,
)
from ._values import label_of

__all__ = ["by_field", "declare", "finish", "owner"]

NOT_MODELLED = "not modelled by the fake: it needs data or rules the fake does not have"


def by_field(field: str, *, fold: bool = False) -> SortKey:
    """An order on one field of the record (text folded to any case with `fold`)."""

    def key(ctx: Context) -> Callable[[Record], Any]:
        def of(record: Record) -> Any:
            value = record.get(field)
            if fold and isinstance(value, str):
                value = value.casefold()
            elif isinstance(value, dict | list):
                # An object field (a workspace's status): by its text, which is at least stable.
                value = repr(value)
            # None first, and never compared with a value.
            return (value is not None, value if value is not None else 0)

        return of

    return key


def declare(
    key: str,
    *,
    tag: str,
    schema: str | None = None,
    path: str | None = None,
    extra_fields: Sequence[str] = (),
    internal_fields: Sequence[str] = (),
    native_ids: Sequence[str] | None = (),
    computed: Mapping[str, Computed] | None = None,
    filters: Mapping[str, tuple[Behaviour | None, str]] | None = None,
    without_only: Sequence[str] = (),
    defaults: Sequence[DefaultFilter] = (),
    scope: Callable[[Context], Predicate | None] | None = None,
    orders: Mapping[str, SortKey] | None = None,
    handlers: Mapping[tuple[str, str], str] | None = None,
    field_rules: Mapping[str, Callable[[Context], bool]] | None = None,
) -> Collection:
    """The declaration of `key`, whose records follow `schema` in the `tag` facts file.

    `schema` defaults to the one the list operation answers with; `path` (the list route,
    without the leading slash) to the one the tag documents for `key`, else `key` itself.
    `filters` maps a documented filter to `(behaviour, note)` (behaviour None: refused);
    naming one the facts do not document is an error. `internal_fields` are kept on the
    records (for filters) and never sent; `native_ids` are include ids sent without the
    include (None: every single id the schema lists, as Kantata sends `workspace_id`);
    `handlers` maps `(method, path shape)` to a handler name for routes other than those
    `_routes.plain` serves by name (list, show, create, update, delete, approve, ...).
    """
    facts = _facts.tag(tag)
    listing = _listing(facts, key, path)
    base = listing.path.strip("/") if listing is not None else (path or key)
    ops = [op for op in _facts.operations() if owner(op.path) == base]
    described = listing or next((op for op in ops if op.include), None)
    includes = {
        name: Include(inc.field, inc.target_key, inc.many, inc.polymorphic)
        for name, inc in (described.include if described else {}).items()
    }
    optional = tuple(described.optional_fields) if described else ()
    singular, schema_fields = _schema_of(facts, key, schema, listing, ops)
    include_fields = {inc.field for inc in includes.values()}
    if native_ids is None:
        native_ids = [i.field for i in includes.values() if not i.many and i.field in schema_fields]
    fields = tuple(
        name
        for name in dict.fromkeys((*schema_fields, *extra_fields))
        if name != "id"
        and name not in optional
        and (name not in include_fields or name in native_ids)
    )
    # Orders and filters on stamps the schema leaves out: kept on the records, never sent.
    documented = {
        *(listing.query if listing else ()),
        *(o.partition(":")[0] for o in (listing.order if listing else ())),
    }
    stamps = {
        f"{stem}_at": _facts.FieldFact("string", "date-time")
        for stem in ("created", "updated")
        if f"{stem}_at" not in schema_fields
        and documented & {f"{stem}_at", f"{stem}_after", f"{stem}_before"}
    }
    known = {
        *schema_fields,
        *extra_fields,
        *internal_fields,
        *optional,
        *include_fields,
        *stamps,
        "id",
    }
    declared_filters = _filters(key, listing, dict(filters or {}), known, set(without_only))
    sort_keys, default_order, refused_orders = _orders(listing, dict(orders or {}), known)
    shapes = [(op, op.path.strip("/")[len(base) :].strip("/")) for op in ops]
    routes = {
        (op.method, shape): Route(
            op, (handlers or {}).get((op.method, shape)) or plain(op, shape, schema_fields)
        )
        for op, shape in shapes
    }
    unknown = set(handlers or {}) - set(routes)
    if unknown:
        raise ValueError(f"{key}: handlers for routes the facts do not document: {unknown}")
    return Collection(
        key=key,
        singular=singular,
        fields=fields,
        path=base,
        envelope=listing is None or listing.returns_key is not None,
        schema={**schema_fields, **stamps},
        optional_fields=optional,
        field_rules=dict(field_rules or {}),
        includes=includes,
        native_ids=frozenset(native_ids),
        computed=dict(computed or {}),
        filters=declared_filters,
        defaults=tuple(defaults),
        scope=scope,
        orders=sort_keys,
        default_order=default_order,
        refused_orders=refused_orders,
        routes=routes,
    )


@functools.cache
def _list_bases() -> tuple[str, ...]:
    """The path of every documented list route, longest first."""
    paths = {op.path.strip("/") for op in _facts.operations() if op.kind == "list"}
    return tuple(sorted(paths, key=len, reverse=True))


def owner(path: str) -> str:
    """The list route a documented path belongs to: the longest one it starts with (the
    rows of `rate_card_set_versions/{id}/rate_card_table_rows` are not version routes), or
    its first segment when no list route covers it."""
    bare = path.strip("/")
    for base in _list_bases():
        if bare == base or bare.startswith(base + "/"):
            return base
    return bare.partition("/")[0]


def _listing(facts: _facts.TagFacts, key: str, path: str | None) -> _facts.Operation | None:
    for op in facts.operations:
        if op.kind != "list":
            continue
        if (path is not None and op.path.strip("/") == path) or (
            path is None and (op.returns_key == key or op.path.strip("/") == key)
        ):
            return op
    return None


def _schema_of(
    facts: _facts.TagFacts,
    key: str,
    schema: str | None,
    listing: _facts.Operation | None,
    ops: Sequence[_facts.Operation],
) -> tuple[str, Mapping[str, _facts.FieldFact]]:
    """The record's name ("Couldn't find <name>") and documented fields: its schema, or (for
    a key whose facts give none) the fields its create route takes, all Kantata documents."""
    name = schema
    if name is None and listing is not None:
        name = listing.response_keys.get(key) or (listing.response_schema or "").strip("[]")
    singular = (name or "").rpartition("__")[2] or "".join(
        part.capitalize() for part in key.removesuffix("s").split("_")
    )
    if name and name in facts.schemas:
        return singular, facts.schemas[name]
    for op in ops:
        if op.kind == "create":
            return singular, dict(op.body_fields or op.query)
    return singular, {}


def _filters(
    key: str,
    listing: _facts.Operation | None,
    given: dict[str, tuple[Behaviour | None, str]],
    known: set[str],
    without_only: set[str],
) -> dict[str, Filter]:
    documented = listing.query if listing else {}
    stray = set(given) - set(documented)
    if stray:
        raise ValueError(f"{key}: behaviours for filters the facts do not document: {stray}")
    out = {}
    for name, fact in documented.items():
        if name in given:
            behaviour, note = given[name]
        else:
            derived = derive(name, fact, known)
            behaviour, note = derived if derived is not None else (None, NOT_MODELLED)
        out[name] = Filter(
            name=name,
            fact=fact,
            behaviour=behaviour,
            note=note,
            default=fact.default,
            with_only=name not in without_only,
        )
    return out


def _orders(
    listing: _facts.Operation | None, given: dict[str, SortKey], known: set[str]
) -> tuple[dict[str, SortKey], tuple[str, bool], frozenset[str]]:
    names = dict.fromkeys(value.partition(":")[0] for value in (listing.order if listing else ()))
    sort_keys: dict[str, SortKey] = {}
    refused = set()
    for name in names:
        if name in given:
            sort_keys[name] = given[name]
        elif name in known:
            sort_keys[name] = by_field(name)
        elif (derived := _derived_order(name, known)) is not None:
            sort_keys[name] = derived
        else:
            refused.add(name)
    default_name, _, direction = ((listing.order_default if listing else None) or "").partition(":")
    if default_name not in sort_keys:
        # Undocumented, or documented and not modelled: by id, which is at least stable.
        return sort_keys, ("id", False), frozenset(refused)
    return sort_keys, (default_name, direction == "desc"), frozenset(refused)


# Orders named for what they mean rather than for a field: the fields that mean it.
_NAMED = {
    "date": ("date", "start_date", "date_performed", "date_expensed", "submitted_at"),
    "amount": ("amount_in_cents", "total_amount_in_cents", "total_in_cents", "amount"),
}


def _derived_order(name: str, known: set[str]) -> SortKey | None:
    """An order named the way Kantata names them: `alphabetical(ly)` on the name or title,
    `<x>` on `<x>_at`, `<x>_date` or `<x>_in_cents`, `<x>_name` / `<x>_title` / `full_name` on
    the name of what `<x>_id` (or `user_id`) names."""
    if name in ("alphabetical", "alphabetically"):
        label = next((f for f in ("name", "title", "full_name") if f in known), None)
        return None if label is None else by_field(label, fold=True)
    for suffix in ("_at", "_date", "_in_cents"):
        if name + suffix in known:
            return by_field(name + suffix)
    meant = next((f for f in _NAMED.get(name, ()) if f in known), None)
    if meant is not None:
        return by_field(meant)
    stem = "user" if name == "full_name" else name.removesuffix("_name").removesuffix("_title")
    if stem != name and f"{stem}_id" in known:
        return _by_name_of(f"{stem}_id")
    return None


def _by_name_of(field: str) -> SortKey:
    """An order on the name of the record `field` names (its target guessed from the name)."""
    stem = field.removesuffix("_id")

    def key(ctx: Context) -> Callable[[Record], Any]:
        records = ctx.dataset.records
        target = next((records[k] for k in (stem + "s", stem + "es") if k in records), {})

        def of(record: Record) -> str:
            found = target.get(str(record.get(field))) or {}
            return str(label_of(found) or "").casefold()

        return of

    return key


def finish(collections: Sequence[Collection]) -> dict[str, Collection]:
    """The declarations by key; includes whose records the fake does not hold are refused."""
    held = {c.key for c in collections}
    out = {}
    for collection in collections:
        kept = {
            name: inc
            for name, inc in collection.includes.items()
            if inc.polymorphic or inc.target in held
        }
        refused = {
            name: f"the fake holds no {inc.target}"
            for name, inc in collection.includes.items()
            if name not in kept
        }
        computed = {**_inverses(collection, collections), **collection.computed}
        out[collection.key] = replace(
            collection, includes=kept, refused_includes=refused, computed=computed
        )
    return out


def _inverses(collection: Collection, collections: Sequence[Collection]) -> dict[str, Computed]:
    """The lists of ids whose target points back with a single id (a story's
    `assignment_ids`, where each assignment carries `story_id`): computed from the records
    that point back, so that they stay true whatever is written."""
    by_key = {c.key: c for c in collections}
    out: dict[str, Computed] = {}
    for inc in collection.includes.values():
        target = by_key.get(inc.target)
        if not inc.many or inc.polymorphic or target is None:
            continue
        back = [
            i.field
            for i in target.includes.values()
            if i.target == collection.key and not i.many and not i.polymorphic
        ]
        if len(back) == 1:
            out[inc.field] = _pointing_back(target.key, back[0])
    return out


def _pointing_back(key: str, field: str) -> Computed:
    def ids(ctx: Context, record: Record) -> list[str]:
        return [r["id"] for r in ctx.index.by(key, field).get(str(record["id"]), ())]

    return ids
