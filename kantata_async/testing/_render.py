"""Rendering: records and response envelopes in Kantata's wire format, from the declarations.

A record is sent with the fields its collection declares (`Collection.sent_fields`): the
default ones, the optional ones asked for and the ids of the includes asked for; computed
fields are derived on the way. Included records go under their own top-level key with their
default fields, and every included key exists even when empty, as Brainstem builds it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypedDict, Unpack

from ._collections import COLLECTIONS
from ._index import Context
from ._schema import Collection, Record

__all__ = ["EnvelopeOptions", "envelope", "render_record"]


def _fields(
    cache: dict[Any, tuple[str, ...]],
    collection: Collection,
    include: frozenset[str],
    optional: frozenset[str],
) -> tuple[str, ...]:
    key = (collection.key, include, optional)
    found = cache.get(key)
    if found is None:
        found = collection.sent_fields(include, optional)
        if len(cache) < 1024:
            cache[key] = found
    return found


def _shape(
    record: Record, fields: Sequence[str], collection: Collection, ctx: Context, copy_lists: bool
) -> Record:
    out: Record = {}
    computed = collection.computed
    for name in fields:
        if name in record:
            value = record[name]
            # So that nothing holding the rendered record can change the dataset.
            out[name] = value.copy() if copy_lists and type(value) is list else value
        elif name in computed:
            out[name] = computed[name](ctx, record)
    return out


def render_record(
    ctx: Context,
    cache: dict[Any, tuple[str, ...]],
    key: str,
    record: Record,
    include: Iterable[str] = (),
    optional_fields: Iterable[str] = (),
) -> Record:
    """One record as the server sends it for these `include` and `optional_fields`."""
    collection = COLLECTIONS[key]
    fields = _fields(cache, collection, frozenset(include), frozenset(optional_fields))
    return _shape(record, fields, collection, ctx, copy_lists=True)


class EnvelopeOptions(TypedDict, total=False):
    """What an envelope renders besides its records (`Dataset.envelope`'s keywords).

    `include` and `optional_fields` (default none); `count`, the total the query matched
    (default: the number of ids); `page` (default 1) and `per_page` (default: the number
    of ids) for `meta`; `copy_lists` (default True): False shares the dataset's lists.
    """

    include: Sequence[str]
    optional_fields: Sequence[str]
    count: int | None
    page: int
    per_page: int | None
    copy_lists: bool


def envelope(
    ctx: Context,
    cache: dict[Any, tuple[str, ...]],
    key: str,
    ids: Sequence[str],
    **options: Unpack[EnvelopeOptions],
) -> dict[str, Any]:
    """A response envelope whose primary records are `ids` under `key`, in that order.

    Include names the collection does not have are left out; so are optional fields it
    does not have.
    """
    include = options.get("include", ())
    optional_fields = options.get("optional_fields", ())
    count = options.get("count")
    page = options.get("page", 1)
    per_page = options.get("per_page")
    copy_lists = options.get("copy_lists", True)
    collection = COLLECTIONS[key]
    records = ctx.dataset.records
    total = len(ids) if count is None else count
    size = per_page or max(len(ids), 1)
    wanted = [name for name in dict.fromkeys(include) if name in collection.includes]
    body: dict[str, Any] = {
        "count": total,
        "meta": {
            "count": total,
            "page_count": math.ceil(total / size) if total > 0 else 0,
            "page_number": page if total > 0 else 0,
            "page_size": size,
        },
        "results": [{"key": key, "id": i} for i in ids],
    }
    for name in wanted:
        inc = collection.includes[name]
        if not inc.polymorphic:
            body.setdefault(inc.target, {})
    primaries = body.setdefault(key, {})
    store = records.get(key, {})
    fields = _fields(cache, collection, frozenset(wanted), frozenset(optional_fields))
    for i in ids:
        primaries[i] = _shape(store[i], fields, collection, ctx, copy_lists)
    for name in wanted:
        _hide_unseen(ctx, collection, name, [primaries[i] for i in ids])
        _sideload(ctx, cache, body, collection, name, [primaries[i] for i in ids], copy_lists)
    return body


def _hide_unseen(
    ctx: Context, collection: Collection, name: str, rendered: Sequence[Record]
) -> None:
    """Drop from a list of ids those the target's scope hides from the requester (a
    workweek's memberships of another account's people): never named, never sideloaded."""
    inc = collection.includes[name]
    target = COLLECTIONS.get(inc.target)
    if not inc.many or target is None or target.scope is None:
        return
    allowed = target.scope(ctx)
    store = ctx.dataset.records.get(inc.target, {})
    if allowed is None:
        return
    for record in rendered:
        value = record.get(inc.field)
        if isinstance(value, list):
            # A new list: the rendered record may share the dataset's own.
            record[inc.field] = [i for i in value if str(i) not in store or allowed(store[str(i)])]


def _sideload(
    ctx: Context,
    cache: dict[Any, tuple[str, ...]],
    body: dict[str, Any],
    collection: Collection,
    name: str,
    rendered: Sequence[Mapping[str, Any]],
    copy_lists: bool,
) -> None:
    inc = collection.includes[name]
    for record in rendered:
        value = record.get(inc.field)
        if value is None:
            continue
        for ref in value if type(value) is list else (value,):
            if inc.polymorphic:
                target_key, target_id = str(ref.get("key")), str(ref.get("id"))
            else:
                target_key, target_id = inc.target, str(ref)
            out = body.setdefault(target_key, {})
            if target_id in out or target_key not in COLLECTIONS:
                continue
            target = ctx.dataset.records.get(target_key, {}).get(target_id)
            if target is not None:
                target_collection = COLLECTIONS[target_key]
                fields = _fields(cache, target_collection, frozenset(), frozenset())
                out[target_id] = _shape(target, fields, target_collection, ctx, copy_lists)
