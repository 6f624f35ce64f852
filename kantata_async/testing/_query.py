"""The read side of the fake server: filters, ordering, `only` and pagination, as Brainstem does.

`Selector.select` turns a key and its request parameters into the ids of one page, the total
count and the `meta` numbers, applying the collection's declaration (`_collections.py`):
its scope, every filter given (or its default), its default filters, its order. Whatever the
declaration refuses (a filter, an include, an order the fake does not model) is a 501 naming
it, unless the server was told to ignore those. Sorted and filtered id lists are cached until
the dataset's `revision` changes, so walking 100,000 users costs one sort and then a slice per
page. No I/O here.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from ._collections import COLLECTIONS
from ._dataset import DAYS, Dataset
from ._filters import brainstem_value
from ._index import Context
from ._schema import Collection, FilterValue, Predicate
from ._wire import ApiError, ruby_int

__all__ = [
    "DEFAULT_PER_PAGE",
    "MAX_CAPACITY_DAYS",
    "MAX_PER_PAGE",
    "Page",
    "Selector",
    "refusal",
    "scalar",
]

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 200
# The longest capacity range answered, both ends included: ten years with three leap days.
# Kantata publishes no limit; this one keeps a request to milliseconds (the whole calendar,
# years 1 to 9999, would hold the server's loop for seconds).
MAX_CAPACITY_DAYS = 3653
# Parameters that choose the page and its shape, not the records matched.
_PAGING = frozenset({"page", "per_page", "limit", "offset", "include", "optional_fields"})
_DIGITS = re.compile(r"\d+")


def _id_key(record_id: str) -> tuple[int, int, str]:
    return (0, int(record_id), "") if record_id.isdigit() else (1, 0, record_id)


def scalar(params: Mapping[str, Any], name: str) -> str | None:
    """A parameter that takes one value; 400 when a Rails array or hash was sent."""
    value = params.get(name)
    if isinstance(value, list | dict):
        raise ApiError.system(400, f"{name} takes one value, not a list or a hash")
    return value


def refusal(what: str, name: str, key: str, reason: str) -> ApiError:
    """The 501 for something documented that the fake does not model."""
    return ApiError.system(
        501,
        f"FakeKantata does not model {what} '{name}' on {key} ({reason}); "
        "FakeKantata(ignore_unmodelled=True) ignores it instead",
    )


def _field_is(name: str, value: str) -> Predicate:
    return lambda record: str(record.get(name)) == value


def defaults_on(params: Mapping[str, Any]) -> bool:
    """Brainstem's `apply_default_filters`: absent means on; given, only true/TRUE/1 is on."""
    if "apply_default_filters" not in params:
        return True
    return params["apply_default_filters"] in ("true", "TRUE", "1")


@dataclass(frozen=True)
class Page:
    """One page of a list query: the ids in order, the total matched and the `meta` inputs."""

    ids: list[str]
    count: int
    page_number: int
    page_size: int


class Selector:
    """Answers list and show queries over a `Dataset` for the user `me`.

    `ignore_unmodelled()` says whether refused filters, includes and orders are ignored
    rather than answered with a 501.
    """

    def __init__(
        self, dataset: Dataset, me: str, ignore_unmodelled: Callable[[], bool] = lambda: False
    ) -> None:
        self.dataset = dataset
        self.me = me
        self.ignore_unmodelled = ignore_unmodelled
        self.index = dataset.index
        self._revision = -1
        self._sorted: dict[tuple[Any, ...], list[str]] = {}
        self._matched: OrderedDict[tuple[Any, ...], list[str]] = OrderedDict()

    def context(self, params: Mapping[str, Any]) -> Context:
        """What filters see for a request with these parameters."""
        return Context(self.dataset, self.me, params, self.index)

    def _sync(self) -> None:
        if self.dataset.revision != self._revision:
            self._revision = self.dataset.revision
            self._sorted.clear()
            self._matched.clear()

    # -- ordering -------------------------------------------------------------------------

    def resolve_order(self, collection: Collection, order: str | None) -> tuple[str, bool]:
        """`(sort name, descending)` for an `order` value; unknown names give the default.

        As Brainstem does: an unknown sort name falls back to the key's default order (and
        its default direction); a known name sorts descending only for `:desc`. A documented
        name the fake does not model is a 501.
        """
        name, _, direction = (order or "").partition(":")
        if name in collection.refused_orders and not self.ignore_unmodelled():
            raise refusal("order", name, collection.key, "no sort key for it")
        if name not in collection.orders:
            return collection.default_order
        return name, direction == "desc"

    def _sort_key(self, collection: Collection, name: str, ctx: Context) -> Callable[[str], Any]:
        store = self.dataset.records.get(collection.key, {})
        build = collection.orders.get(name)
        if build is None:
            return _id_key
        by = build(ctx)
        return lambda i: (by(store[i]), _id_key(i))

    def _ordered(self, collection: Collection, name: str, desc: bool, ctx: Context) -> list[str]:
        store = self.dataset.records.get(collection.key, {})
        cache_key = (collection.key, name, desc, len(store))
        ids = self._sorted.get(cache_key)
        if ids is None:
            ids = sorted(store, key=self._sort_key(collection, name, ctx))
            if desc:
                ids.reverse()
            self._sorted[cache_key] = ids
        return ids

    # -- filters --------------------------------------------------------------------------

    def predicates(
        self, collection: Collection, params: Mapping[str, Any], *, only: bool
    ) -> list[Predicate]:
        """The scope, the filters given (or their defaults) and the default filters."""
        ctx = self.context(params)
        preds: list[Predicate] = []
        if collection.scope is not None:
            scoped = collection.scope(ctx)
            if scoped is not None:
                preds.append(scoped)
        defaults = defaults_on(params)
        # Only the filters given, and those with a default: a show route must stay cheap.
        given = [n for n in params if n in collection.filters]
        wanted = set(given) | (set(collection.defaulted) if defaults else set())
        for name in (n for n in collection.filters if n in wanted):
            spec = collection.filters[name]
            value: FilterValue | None = brainstem_value(params.get(name))
            if value is None:
                if not defaults or spec.default is None or spec.refused:
                    continue
                value = spec.default
            if only and not spec.with_only:
                continue
            if spec.behaviour is None:
                if self.ignore_unmodelled():
                    continue
                raise refusal("filter", name, collection.key, spec.note)
            narrowed = spec.behaviour(ctx, name, value)
            if narrowed is not None:
                preds.append(narrowed)
        for rule in collection.defaults if defaults else ():
            chosen = any(brainstem_value(params.get(n)) not in (None, False) for n in rule.unless)
            if not chosen:
                narrowed = rule.behaviour(ctx)
                if narrowed is not None:
                    preds.append(narrowed)
        return preds

    # -- selection ------------------------------------------------------------------------

    def select(
        self,
        key: str,
        params: Mapping[str, Any],
        *,
        within: Mapping[str, str] | None = None,
        unpaged: bool = False,
    ) -> Page:
        """The page of `key` records the parameters ask for.

        `within` keeps the records whose fields have these values (a nested route's path
        parameters); `unpaged` answers every match (a list that is not an envelope).
        Raises `ApiError`: 422 for filter values it cannot read, 400 for a list where one
        value is expected, 501 for what the fake refuses.
        """
        self._sync()
        collection = COLLECTIONS[key]
        store = self.dataset.records.get(key, {})
        ctx = self.context(params)
        self.check_includes(collection, params)
        name, desc = self.resolve_order(collection, scalar(params, "order"))
        per_page = ruby_int(scalar(params, "per_page"), DEFAULT_PER_PAGE, name="per_page")
        per_page = DEFAULT_PER_PAGE if per_page < 1 else min(per_page, MAX_PER_PAGE)
        page_number = ruby_int(scalar(params, "page"), 1, name="page")
        only = (scalar(params, "only") or "").strip()
        preds = self.predicates(collection, params, only=bool(only))
        preds.extend(_field_is(name, value) for name, value in (within or {}).items())
        if only:
            # Brainstem does not paginate `only` requests: every match, whatever the page.
            wanted = dict.fromkeys(i for i in only.split(",") if _DIGITS.fullmatch(i))
            ids = [i for i in wanted if i in store and all(p(store[i]) for p in preds)]
            ids.sort(key=self._sort_key(collection, name, ctx))
            if desc:
                ids.reverse()
            return Page(ids, len(ids), page_number, per_page)
        signature = {**params, **{f"/{k}": v for k, v in (within or {}).items()}}
        matched = self._matching(collection, name, desc, signature, preds, ctx)
        if unpaged:
            return Page(matched, len(matched), 1, max(len(matched), 1))
        limit_raw, offset_raw = scalar(params, "limit") or "", scalar(params, "offset") or ""
        if limit_raw.strip() and offset_raw.strip():
            limit = min(max(ruby_int(limit_raw, 1, name="limit"), 1), MAX_PER_PAGE)
            offset = max(ruby_int(offset_raw, 0, name="offset"), 0)
        else:
            limit, offset = per_page, per_page * (max(page_number, 1) - 1)
        return Page(matched[offset : offset + limit], len(matched), page_number, per_page)

    def check_includes(self, collection: Collection, params: Mapping[str, Any]) -> None:
        """501 for an include the collection documents and the fake does not serve."""
        for name in (scalar(params, "include") or "").split(","):
            reason = collection.refused_includes.get(name)
            if reason is not None and not self.ignore_unmodelled():
                raise refusal("include", name, collection.key, reason)

    def _matching(
        self,
        collection: Collection,
        name: str,
        desc: bool,
        params: Mapping[str, Any],
        preds: list[Predicate],
        ctx: Context,
    ) -> list[str]:
        ordered = self._ordered(collection, name, desc, ctx)
        if not preds:
            return ordered
        signature = repr(sorted((k, v) for k, v in params.items() if k not in _PAGING))
        cache_key = (collection.key, name, desc, len(ordered), signature)
        found = self._matched.get(cache_key)
        if found is not None:
            self._matched.move_to_end(cache_key)
            return found
        store = self.dataset.records.get(collection.key, {})
        found = [i for i in ordered if all(p(store[i]) for p in preds)]
        self._matched[cache_key] = found
        if len(self._matched) > 64:
            self._matched.popitem(last=False)
        return found

    def validate(self, key: str, params: Mapping[str, Any]) -> None:
        """Raise what `select` would raise for these parameters (400, 422, 501), without
        selecting: a write checks its query before it changes anything."""
        self.select(key, {**params, "only": "0"})

    def visible(self, key: str, record_id: str, params: Mapping[str, Any]) -> bool:
        """Whether a show route finds `record_id` (it exists and passes scope and filters)."""
        if not _DIGITS.fullmatch(record_id):
            return False
        return bool(self.select(key, {**params, "only": record_id}).ids)

    # -- rendering ------------------------------------------------------------------------

    def envelope(
        self, key: str, page: Page, params: Mapping[str, Any], *, count_offset: int = 0
    ) -> dict[str, Any]:
        """The response envelope for `page` with the request's `include` and
        `optional_fields` (an optional field whose rule the request fails is left out).

        `count_offset` is added to the reported count (never below 0), for the count knob.
        """
        collection = COLLECTIONS[key]
        ctx = self.context(params)
        include = (scalar(params, "include") or "").split(",")
        asked = [f.strip() for f in (scalar(params, "optional_fields") or "").split(",")]
        optional = [
            f for f in asked if f not in collection.field_rules or collection.field_rules[f](ctx)
        ]
        return self.dataset.envelope(
            key,
            page.ids,
            include=include,
            optional_fields=optional,
            count=max(page.count + count_offset, 0),
            page=page.page_number,
            per_page=page.page_size,
            copy_lists=False,
            context=ctx,
        )

    # -- capacity -------------------------------------------------------------------------

    def capacity(self, user_id: str, start: date, end: date) -> dict[str, float]:
        """Hours per day from the user's effective workweek (the default one outside any)."""
        workweeks = self.dataset.records.get("workweeks", {})
        default_id = self.dataset.default_workweek_id()
        default = workweeks.get(default_id) if default_id is not None else None
        mine = sorted(
            self.index.by("workweek_memberships", "user_id").get(str(int(user_id)), []),
            key=lambda wm: (wm["start_date"], _id_key(wm["id"])),
        )
        hours: dict[str, float] = {}
        # By offset, not `day += 1`: the day after 9999-12-31 does not exist.
        for offset in range((end - start).days + 1):
            day = start + timedelta(days=offset)
            iso = day.isoformat()
            workweek = default
            for wm in reversed(mine):
                if wm["start_date"] <= iso and (wm["end_date"] is None or wm["end_date"] >= iso):
                    workweek = workweeks.get(str(wm["workweek_id"]), default)
                    break
            minutes = workweek.get(f"{DAYS[(day.weekday() + 1) % 7]}_minutes", 0) if workweek else 0
            hours[iso] = (minutes or 0) / 60
        return hours
