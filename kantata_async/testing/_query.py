"""The read side of the fake server: filters, ordering, `only` and pagination, as Brainstem does.

`Selector.select` turns a key and its query parameters into the ids of one page, the total
count and the `meta` numbers; `Selector.envelope` renders that page. Sorted and filtered id
lists are cached until the dataset's `revision` changes, so walking 100,000 users costs one
sort and then a slice per page. No I/O here.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from ._dataset import DAYS, Dataset
from ._wire import parse_date, parse_datetime, ruby_int, truthy

__all__ = [
    "DEFAULT_PER_PAGE",
    "FILTERS",
    "MAX_CAPACITY_DAYS",
    "MAX_PER_PAGE",
    "ORDERS",
    "Page",
    "Selector",
]

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 200
# The longest capacity range answered, both ends included: ten years with three leap days.
# Kantata publishes no limit; this one keeps a request to milliseconds (the whole calendar,
# years 1 to 9999, would hold the server's loop for seconds).
MAX_CAPACITY_DAYS = 3653
# The account's time zone: naive datetimes in filters are read in it (the dataset's offset).
ACCOUNT_TZ = timezone(timedelta(hours=-7))

Record = dict[str, Any]
Predicate = Callable[[Record], bool]
SortKey = Callable[[Record], Any]

# Sort orders per key: (default name, {name: key function}). Ties break on the id.
ORDERS: dict[str, tuple[str, dict[str, SortKey]]] = {
    "users": ("alphabetical", {"alphabetical": lambda r: (r.get("full_name") or "").casefold()}),
    "workweek_memberships": ("start_date", {"start_date": lambda r: r.get("start_date") or ""}),
}

_TIMESTAMP_FILTERS = ("created_after", "created_before", "updated_after", "updated_before")
# The filter parameters each key understands; anything else in the query is ignored. Every
# key whose records carry created_at/updated_at takes the timestamp filters (work samples
# have no timestamps, so no filters).
FILTERS: dict[str, frozenset[str]] = {
    "users": frozenset(
        {
            *_TIMESTAMP_FILTERS,
            "on_my_account",
            "by_full_name",
            "by_email_address",
            "by_email_addresses",
            "with_users",
            "without_users",
            "show_disabled",
            "managers",
            "search",
        }
    ),
    "workweek_memberships": frozenset(
        {*_TIMESTAMP_FILTERS, "user_ids", "effective_date", "participating_with"}
    ),
    **{
        key: frozenset(_TIMESTAMP_FILTERS)
        for key in (
            "workweeks",
            "account_memberships",
            "skill_memberships",
            "skills",
            "roles",
            "custom_field_values",
            "external_references",
        )
    },
}

_DIGITS = re.compile(r"\d+")


def _id_key(record_id: str) -> tuple[int, int, str]:
    return (0, int(record_id), "") if record_id.isdigit() else (1, 0, record_id)


def _id_list(value: str) -> set[str]:
    return {part.strip() for part in value.split(",") if part.strip()}


@dataclass(frozen=True)
class Page:
    """One page of a list query: the ids in order, the total matched and the `meta` inputs."""

    ids: list[str]
    count: int
    page_number: int
    page_size: int


class Selector:
    """Answers list and show queries over a `Dataset` for the user `me`."""

    def __init__(self, dataset: Dataset, me: str) -> None:
        self.dataset = dataset
        self.me = me
        self._revision = -1
        self._sorted: dict[tuple[str, str, bool, int], list[str]] = {}
        self._matched: OrderedDict[tuple[Any, ...], list[str]] = OrderedDict()
        self._derived: dict[str, Any] = {}

    # -- caches -------------------------------------------------------------------------

    def _sync(self) -> None:
        if self.dataset.revision != self._revision:
            self._revision = self.dataset.revision
            self._sorted.clear()
            self._matched.clear()
            self._derived.clear()

    def managers(self) -> frozenset[str]:
        """Ids of the users who manage at least one user."""
        self._sync()
        found = self._derived.get("managers")
        if found is None:
            users = self.dataset.records.get("users", {})
            found = frozenset(str(u["manager_id"]) for u in users.values() if u.get("manager_id"))
            self._derived["managers"] = found
        return frozenset(found)

    def memberships_by_user(self) -> dict[int, list[Record]]:
        """Every user's workweek memberships, by start date."""
        self._sync()
        index: dict[int, list[Record]] | None = self._derived.get("memberships")
        if index is None:
            index = {}
            for wm in self.dataset.records.get("workweek_memberships", {}).values():
                index.setdefault(int(wm["user_id"]), []).append(wm)
            for mine in index.values():
                mine.sort(key=lambda wm: (wm["start_date"], _id_key(wm["id"])))
            self._derived["memberships"] = index
        return index

    # -- ordering -----------------------------------------------------------------------

    @staticmethod
    def resolve_order(key: str, order: str | None) -> tuple[str, bool]:
        """`(sort name, descending)` for an `order` value; unknown names give the default.

        As Brainstem does: an unknown sort name falls back to the key's default order (and
        its default direction); a known name sorts descending only for `:desc`.
        """
        default, known = ORDERS.get(key, ("id", {}))
        name, _, direction = (order or "").partition(":")
        if name not in known:
            return default, False
        return name, direction == "desc"

    def _sort_key(self, key: str, name: str, store: Mapping[str, Record]) -> Callable[[str], Any]:
        known = ORDERS.get(key, ("id", {}))[1]
        by = known.get(name)
        if by is None:
            return _id_key
        sort_by = by
        return lambda i: (sort_by(store[i]), _id_key(i))

    def _ordered(self, key: str, name: str, desc: bool) -> list[str]:
        store = self.dataset.records.get(key, {})
        cache_key = (key, name, desc, len(store))
        ids = self._sorted.get(cache_key)
        if ids is None:
            ids = sorted(store, key=self._sort_key(key, name, store))
            if desc:
                ids.reverse()
            self._sorted[cache_key] = ids
        return ids

    # -- filters ------------------------------------------------------------------------

    def predicates(self, key: str, query: Mapping[str, str], *, only: bool) -> list[Predicate]:
        """The filters the query asks for (default filters included); 422 on bad values."""
        preds: list[Predicate] = []
        allowed = FILTERS.get(key, frozenset())
        given = {k: v for k, v in query.items() if k in allowed and v.strip() != ""}
        for name in _TIMESTAMP_FILTERS:
            if name in given:
                preds.append(self._timestamp_filter(name, given[name]))
        # Brainstem's switch for `only` requests: without the default filters, a record
        # fetched because something links to it is not hidden (a disabled user, say).
        defaults = not (only and query.get("apply_default_filters", "").strip() == "false")
        if key == "users":
            preds.extend(self._user_filters(given, only=only, defaults=defaults))
        elif key == "workweek_memberships":
            preds.extend(self._membership_filters(given))
        return preds

    @staticmethod
    def _timestamp_filter(name: str, value: str) -> Predicate:
        bound = parse_datetime(name, value, ACCOUNT_TZ)
        field = "created_at" if name.startswith("created") else "updated_at"
        after = name.endswith("_after")

        def check(record: Record) -> bool:
            raw = record.get(field)
            if not raw:
                return False
            stamp = datetime.fromisoformat(raw)
            return stamp > bound if after else stamp < bound

        return check

    def _user_filters(
        self, given: Mapping[str, str], *, only: bool, defaults: bool = True
    ) -> list[Predicate]:
        preds: list[Predicate] = []
        if defaults and not truthy(given.get("show_disabled")):
            preds.append(lambda r: not r.get("disabled"))
        if truthy(given.get("on_my_account")):
            me = self.dataset.get("users", self.me)
            account = me.get("account_id") if me else None
            preds.append(lambda r: r.get("account_id") == account)
        if "by_full_name" in given:
            name = given["by_full_name"].strip().casefold()
            preds.append(lambda r: name in (r.get("full_name") or "").casefold())
        if "by_email_address" in given:
            email = given["by_email_address"].strip()
            preds.append(lambda r: r.get("email_address") == email)
        if "by_email_addresses" in given:
            emails = _id_list(given["by_email_addresses"])
            preds.append(lambda r: r.get("email_address") in emails)
        if "with_users" in given:
            keep = _id_list(given["with_users"])
            preds.append(lambda r: r["id"] in keep)
        if "without_users" in given:
            drop = _id_list(given["without_users"])
            preds.append(lambda r: r["id"] not in drop)
        if truthy(given.get("managers")):
            managers = self.managers()
            preds.append(lambda r: r["id"] in managers)
        # The API's search does not apply to `only` requests.
        if "search" in given and not only:
            needle = given["search"].strip().casefold()
            preds.append(
                lambda r: (
                    needle in (r.get("full_name") or "").casefold()
                    or needle in (r.get("email_address") or "").casefold()
                )
            )
        return preds

    def _membership_filters(self, given: Mapping[str, str]) -> list[Predicate]:
        preds: list[Predicate] = []
        if "user_ids" in given:
            user_ids = _id_list(given["user_ids"])
            preds.append(lambda r: str(r["user_id"]) in user_ids)
        if "effective_date" in given:
            day = parse_date("effective_date", given["effective_date"]).isoformat()
            preds.append(
                lambda r: r["start_date"] <= day and (r["end_date"] is None or r["end_date"] >= day)
            )
        if truthy(given.get("participating_with")):
            preds.append(lambda r: str(r["user_id"]) == self.me)
        return preds

    # -- selection ----------------------------------------------------------------------

    def select(self, key: str, query: Mapping[str, str]) -> Page:
        """The page of `key` records the query asks for.

        Raises `ApiError` (422) for filter values it cannot read.
        """
        self._sync()
        store = self.dataset.records.get(key, {})
        name, desc = self.resolve_order(key, query.get("order"))
        per_page = ruby_int(query.get("per_page"), DEFAULT_PER_PAGE, name="per_page")
        per_page = DEFAULT_PER_PAGE if per_page < 1 else min(per_page, MAX_PER_PAGE)
        page_number = ruby_int(query.get("page"), 1, name="page")
        only = query.get("only", "")
        preds = self.predicates(key, query, only=bool(only.strip()))
        if only.strip():
            # Brainstem does not paginate `only` requests: every match comes back.
            wanted = dict.fromkeys(i for i in only.split(",") if _DIGITS.fullmatch(i))
            ids = [i for i in wanted if i in store and all(p(store[i]) for p in preds)]
            ids.sort(key=self._sort_key(key, name, store))
            if desc:
                ids.reverse()
            return Page(ids, len(ids), page_number, per_page)
        matched = self._matching(key, name, desc, query, preds)
        limit_raw, offset_raw = query.get("limit", ""), query.get("offset", "")
        if limit_raw.strip() and offset_raw.strip():
            limit = min(max(ruby_int(limit_raw, 1, name="limit"), 1), MAX_PER_PAGE)
            offset = max(ruby_int(offset_raw, 0, name="offset"), 0)
        else:
            limit, offset = per_page, per_page * (max(page_number, 1) - 1)
        return Page(matched[offset : offset + limit], len(matched), page_number, per_page)

    def _matching(
        self, key: str, name: str, desc: bool, query: Mapping[str, str], preds: list[Predicate]
    ) -> list[str]:
        ordered = self._ordered(key, name, desc)
        if not preds:
            return ordered
        allowed = FILTERS.get(key, frozenset())
        signature = tuple(sorted((k, v) for k, v in query.items() if k in allowed))
        cache_key = (key, name, desc, len(ordered), signature)
        found = self._matched.get(cache_key)
        if found is not None:
            self._matched.move_to_end(cache_key)
            return found
        store = self.dataset.records.get(key, {})
        found = [i for i in ordered if all(p(store[i]) for p in preds)]
        self._matched[cache_key] = found
        if len(self._matched) > 64:
            self._matched.popitem(last=False)
        return found

    def visible(self, key: str, record_id: str, query: Mapping[str, str]) -> bool:
        """Whether a show route finds `record_id` (it exists and passes the default filters)."""
        if not _DIGITS.fullmatch(record_id):
            return False
        return bool(self.select(key, {**query, "only": record_id}).ids)

    # -- rendering ----------------------------------------------------------------------

    def envelope(
        self, key: str, page: Page, query: Mapping[str, str], *, count_offset: int = 0
    ) -> dict[str, Any]:
        """The response envelope for `page` with the query's `include` and `optional_fields`.

        `count_offset` is added to the reported count (never below 0), for the count knob.
        """
        include = query.get("include", "").split(",")
        optional = [f.strip() for f in query.get("optional_fields", "").split(",")]
        return self.dataset.envelope(
            key,
            page.ids,
            include=include,
            optional_fields=optional,
            count=max(page.count + count_offset, 0),
            page=page.page_number,
            per_page=page.page_size,
            copy_lists=False,
        )

    # -- capacity -----------------------------------------------------------------------

    def capacity(self, user_id: str, start: date, end: date) -> dict[str, float]:
        """Hours per day from the user's effective workweek (the default one outside any)."""
        workweeks = self.dataset.records.get("workweeks", {})
        default_id = self.dataset.default_workweek_id()
        default = workweeks.get(default_id) if default_id is not None else None
        mine = self.memberships_by_user().get(int(user_id), [])
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
