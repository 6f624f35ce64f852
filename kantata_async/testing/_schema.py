"""The shape of a collection's declaration: what the fake serves for one top-level key.

A `Collection` says, for one key (`users`), everything the fake needs to answer for it: the
fields it sends, its includes and optional fields, every documented filter with how the fake
applies it (or that it refuses it), its orders, its base scope and default filters, and its
routes. `_collections.py` builds one per key from the facts (`_facts.py`) and the fake's own
behaviour code; the dataset renders and the server routes and filters from them alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._facts import FieldFact, Operation

if TYPE_CHECKING:
    from ._index import Context

__all__ = [
    "Behaviour",
    "Collection",
    "Computed",
    "DefaultFilter",
    "Filter",
    "FilterValue",
    "Include",
    "Predicate",
    "Record",
    "Route",
    "SortKey",
]

Record = dict[str, Any]
Predicate = Callable[[Record], bool]
# An order: given the request, the key records sort by (ties break on the id).
SortKey = Callable[["Context"], Callable[[Record], Any]]
# A field Kantata computes rather than stores (`managee_ids`), from the request and the record.
Computed = Callable[["Context", Record], Any]
# A filter's value as Brainstem hands it over: "true"/"false" become booleans, a Rails array
# (`user_ids[]=1`) a list, a Rails hash (`a[b]=1`) a dict, anything else the string.
FilterValue = str | bool | list[Any] | dict[str, Any]
# How a filter narrows, given the request, the filter's name (for error messages) and its
# value: a predicate on records, or None when this value narrows nothing.
Behaviour = Callable[["Context", str, FilterValue], Predicate | None]


@dataclass(frozen=True)
class Include:
    """An association one level deep: `include=<name>` adds `field` and sideloads `target`.

    A polymorphic include has no fixed target: `field` holds a `{"key", "id"}` reference.
    """

    field: str
    target: str
    many: bool = False
    polymorphic: bool = False


@dataclass(frozen=True)
class Filter:
    """One documented filter and how the fake treats it.

    `behaviour` None means the fake refuses the filter (501, naming it) rather than ignore
    it. `note` says what the fake assumed where the docs are vague, or why it refuses.
    `default` is the documented default, applied when the filter is absent and default
    filters are on (as Brainstem does); `with_only` False keeps it off `only=` requests.
    """

    name: str
    fact: FieldFact
    behaviour: Behaviour | None
    note: str = ""
    default: Any = None
    with_only: bool = True

    @property
    def refused(self) -> bool:
        """Whether the fake answers 501 when the filter is given."""
        return self.behaviour is None


@dataclass(frozen=True)
class DefaultFilter:
    """A restriction Kantata applies unless asked otherwise, which the docs give no name.

    It runs when default filters are on (no `apply_default_filters=false`) and none of the
    `unless` filters is given, as a Brainstem filter with a `default:` would.
    """

    name: str
    behaviour: Callable[[Context], Predicate | None]
    unless: frozenset[str]
    note: str = ""


@dataclass(frozen=True)
class Route:
    """A documented operation and the fake's handler for it (None: answered 501)."""

    operation: Operation
    handler: str | None


@dataclass(frozen=True)
class Collection:
    """Everything the fake serves for one top-level key, in one place.

    - `key`, `singular` (the schema name: "Couldn't find User with 'id'=7").
    - `fields`: sent on every record (the schema's, minus include ids and optional fields,
      plus `extra_fields` Kantata is known to send); `optional_fields` only when asked,
      each subject to `field_rules` (a predicate on the request) when it has one.
    - `includes` and `native_ids` (include ids sent even without the include);
      `refused_includes` are documented includes whose records the fake does not hold
      (501); `computed` fields are derived when rendered, not stored.
    - `filters`: every documented filter of the list operation; `defaults`: restrictions
      the docs describe without a filter name; `scope`: what the requester may ever see.
    - `orders` (name -> sort key), `default_order` (name, descending); `refused_orders`
      are documented orders the fake does not model (501).
    - `routes`: (method, path shape after `path`) -> `Route`.
    - `path`: the list route (`foreign_exchange/exchange_tables`; path parameters in braces,
      `rate_card_set_versions/{rate_card_set_version_id}/rate_card_table_rows`), and
      `envelope` False when its answers are plain JSON rather than an envelope.
    - `schema`: every documented field of a record, with its type (what the generator fills).
    """

    key: str
    singular: str
    fields: tuple[str, ...]
    path: str = ""
    envelope: bool = True
    schema: Mapping[str, FieldFact] = field(default_factory=dict)
    optional_fields: tuple[str, ...] = ()
    field_rules: Mapping[str, Callable[[Context], bool]] = field(default_factory=dict)
    includes: Mapping[str, Include] = field(default_factory=dict)
    refused_includes: Mapping[str, str] = field(default_factory=dict)
    native_ids: frozenset[str] = frozenset()
    computed: Mapping[str, Computed] = field(default_factory=dict)
    filters: Mapping[str, Filter] = field(default_factory=dict)
    defaults: tuple[DefaultFilter, ...] = ()
    scope: Callable[[Context], Predicate | None] | None = None
    orders: Mapping[str, SortKey] = field(default_factory=dict)
    default_order: tuple[str, bool] = ("id", False)
    refused_orders: frozenset[str] = frozenset()
    routes: Mapping[tuple[str, str], Route] = field(default_factory=dict)

    @property
    def parents(self) -> tuple[str, ...]:
        """The path parameters of the list route: each names the field of its records."""
        return tuple(s.strip("{}") for s in self.path.split("/") if s.startswith("{"))

    @property
    def defaulted(self) -> tuple[str, ...]:
        """The filters with a documented default (applied when absent)."""
        return tuple(n for n, f in self.filters.items() if f.default is not None)

    def sent_fields(self, include: frozenset[str], optional: frozenset[str]) -> tuple[str, ...]:
        """The fields of a record rendered with these includes and optional fields."""
        wanted = [self.includes[name].field for name in sorted(include) if name in self.includes]
        extra = [name for name in self.optional_fields if name in optional]
        return ("id", *self.fields, *extra, *(f for f in wanted if f not in self.native_ids))
