"""`Graph`: the identity map and the response normalizer. Pure and synchronous: no I/O.

Every top-level key of a Kantata envelope (`users`, `account_memberships`, ...) is a map of
records keyed by id. `Graph.merge` folds them into one object per `(key, id)`:

- A new record becomes a model instance whose `__dict__` *is* the decoded JSON object (no
  per-field copying; ids and dates convert lazily on first read, see `models._base`).
- A record seen before updates the same instance in place. Present keys overwrite (an explicit
  `null` sets `None`), absent keys keep their value, and `updated_at` decides between payloads
  that arrive out of order: per field, the value from the newest payload that carried it wins.
- Links are resolved in the same pass into strong references, so a held object keeps what it
  links to alive. Ids naming records not seen yet get a placeholder ("stub") that the record
  fills in place when it arrives, so a reference taken early sees data merged later.
- Inverse links (`user.workweek_memberships` from `workweek_membership.user_id`) are recorded
  on the target as the source merges.

The graph itself holds records weakly: what nothing else references is freed.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar, overload

from ._errors import PayloadError
from .models._base import (
    INVERSE,
    OLDER,
    PRIVATE,
    STUB,
    WEAK_INVERSE,
    Model,
    _Relation,
    record_class,
)

__all__ = ["Graph"]

log = logging.getLogger("kantata_async")

M = TypeVar("M", bound=Model)

# A link pass: (obj, its dict, the keys just applied) -> None. See `_linker_factory`.
_Linker = Callable[[Model, dict[str, Any], Mapping[str, Any]], None]

_ENVELOPE_KEYS = frozenset({"count", "meta", "results"})

# `subject_type` values the API documents for polymorphic subjects, and their top-level keys.
_TYPE_KEYS = {
    "User": "users",
    "Workspace": "workspaces",
    "WorkspaceGroup": "workspace_groups",
    "Estimate": "estimates",
    "Resource": "resources",
    "Story": "stories",
}


def _type_to_key(subject_type: str) -> str:
    key = _TYPE_KEYS.get(subject_type)
    if key is None:
        snake = "".join("_" + c.lower() if c.isupper() else c for c in subject_type).lstrip("_")
        key = snake + "s"
    return key


def _unlink(target: Model, slot: str, obj: Model) -> None:
    """Take `obj` off `target`'s inverse list `slot` (strong or weak)."""
    inverse = target.__dict__.get(slot)
    if not inverse:
        return
    if slot[0] == WEAK_INVERSE:
        for i, ref in enumerate(inverse):
            if ref() is obj:
                del inverse[i]
                return
    elif obj in inverse:
        inverse.remove(obj)


def _malformed(key: str, value: Any) -> None:
    log.warning("ignoring a link to %s: %r is not an id or a list of ids", key, value)


def _stamp(value: Any) -> datetime | None:
    """`updated_at` as a comparable aware datetime, or None when it is missing or unreadable."""
    if type(value) is str:
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return None


class Graph:
    """One live object per `(key, id)`, linked, updated in place by every merged response.

    >>> graph = Graph()
    >>> [user] = graph.merge({
    ...     "count": 1, "results": [{"key": "users", "id": "7"}],
    ...     "users": {"7": {"id": "7", "full_name": "Ann", "role_id": "3"}},
    ...     "roles": {"3": {"id": "3", "name": "Designer"}},
    ... })
    >>> user.role.name
    'Designer'
    >>> graph.get("users", "7") is user
    True
    """

    # Sweep dead weak references out of a key's map once it grows past this many entries
    # (and past twice its size after the last sweep): amortised O(1) per record.
    _SWEEP_MIN = 4096

    def __init__(self) -> None:
        self._maps: dict[str, dict[str, weakref.ref[Model]]] = {}
        self._sweep_at: dict[str, int] = {}
        self._linker_cache: dict[type[Model], tuple[_Linker, _Linker] | None] = {}
        # Strong references to every object the running merge has touched, per key. Links
        # resolve here first (one dict probe, no weak reference to follow); emptied when the
        # merge returns. The dicts themselves live as long as the graph: the link passes
        # are bound to them.
        self._batch: dict[str, dict[str, Model]] = {}
        self._merged_keys: dict[str, None] = {}

    # -- reading ------------------------------------------------------------------------

    @overload
    def get(self, key: type[M], id: str | int) -> M | None: ...
    @overload
    def get(self, key: str, id: str | int) -> Model | None: ...

    def get(self, key: str | type[Model], id: str | int) -> Model | None:
        """The live object for `(key, id)`, or None if no response has carried it.

        `key` is a top-level response key (`"users"`) or a model class (`User`).
        """
        if isinstance(key, type):
            key = key.__kantata_key__
        ref = self._maps.get(key, {}).get(str(id))
        obj = ref() if ref is not None else None
        if obj is None or STUB in obj.__dict__:
            return None
        return obj

    @overload
    def objects(self, key: type[M]) -> Iterator[M]: ...
    @overload
    def objects(self, key: str) -> Iterator[Model]: ...

    def objects(self, key: str | type[Model]) -> Iterator[Model]:
        """Every live, loaded object under `key`, in the order the graph first saw them."""
        if isinstance(key, type):
            key = key.__kantata_key__
        for ref in list(self._maps.get(key, {}).values()):
            obj = ref()
            if obj is not None and STUB not in obj.__dict__:
                yield obj

    def count(self, key: str | type[Model]) -> int:
        """How many live, loaded objects the graph holds under `key`."""
        return sum(1 for _ in self.objects(key))

    def keys(self) -> list[str]:
        """The top-level keys the graph has merged records under, in first-seen order."""
        return list(self._merged_keys)

    # -- writing ------------------------------------------------------------------------

    def merge(self, payload: Mapping[str, Any]) -> list[Model]:
        """Merge one decoded envelope; return its primary records in `results` order.

        The graph adopts the record dicts inside `payload` as the objects' storage, so the
        payload belongs to the graph afterwards: do not reuse or change it.

        Raises `PayloadError`, before changing anything, when the payload is not an envelope
        or `results` names a record the payload does not carry.
        """
        results, maps = self._check(payload)
        primary = {key for key, _ in results}
        # Sideloads first, primaries last: a key that is both (a user and its manager under
        # `users`) is one map and merges once.
        order = [k for k in maps if k not in primary] + [k for k in maps if k in primary]
        try:
            # Two passes: every record of the payload has its object before any link is
            # resolved, so links between records of one payload never need a placeholder.
            updates = {key: self._adopt_key(key, maps[key]) for key in order}
            for key in order:
                self._link_key(key, maps[key], updates[key])
            return [self._batch[key][id_] for key, id_ in results]
        finally:
            for touched in self._batch.values():
                touched.clear()
            self._sweep()

    def mark_loaded(self, obj: Model, relation: str) -> None:
        """Declare an inverse relation of `obj` complete, even if empty.

        An inverse-only relation (`user.workweek_memberships`) raises `RelationNotLoadedError`
        until some record pointing at `obj` is merged. Call this after fetching every such
        record (for example all workweek memberships of a user) so that none reads as `[]`.
        """
        rel = type(obj).__kantata_relations__.get(relation)
        if rel is None or not rel.inverse_slot:
            raise ValueError(
                f"{type(obj).__name__}.{relation} is not an inverse relation; inverse ones are: "
                + ", ".join(
                    sorted(n for n, r in type(obj).__kantata_relations__.items() if r.inverse_slot)
                )
            )
        obj.__dict__.setdefault(rel.inverse_slot, [])

    def forget(self, key: str | type[Model], id: str | int) -> Model | None:
        """Remove `(key, id)` from the graph and from the inverse links that list it.

        Used after a successful DELETE. Returns the object, which callers may still hold.
        """
        if isinstance(key, type):
            key = key.__kantata_key__
        ref = self._maps.get(key, {}).pop(str(id), None)
        obj = ref() if ref is not None else None
        if obj is None or STUB in obj.__dict__:
            return None
        d = obj.__dict__
        for rel in self._link_specs(type(obj)):
            target = d.get(rel.slot)
            if rel.feeds and isinstance(target, Model):
                _unlink(target, rel.feeds.get(type(target).__kantata_key__, ""), obj)
        return obj

    # -- internals ----------------------------------------------------------------------

    def _check(
        self, payload: Mapping[str, Any]
    ) -> tuple[list[tuple[str, str]], dict[str, dict[str, dict[str, Any]]]]:
        """Validate the envelope's shape before anything is merged."""
        if not isinstance(payload, Mapping):
            raise PayloadError(f"expected a JSON object envelope, got {type(payload).__name__}")
        maps: dict[str, dict[str, dict[str, Any]]] = {}
        for key, value in payload.items():
            if key in _ENVELOPE_KEYS:
                continue
            if not isinstance(value, dict) or not {*map(type, value.values())} <= {dict}:
                log.debug("skipping top-level key %r: not a map of records", key)
                continue
            maps[key] = value
        raw_results = payload.get("results", [])
        if not isinstance(raw_results, list):
            raise PayloadError(f"'results' must be a list, got {type(raw_results).__name__}")
        results: list[tuple[str, str]] = []
        for entry in raw_results:
            if not isinstance(entry, dict) or "key" not in entry or "id" not in entry:
                raise PayloadError(f"each entry of 'results' needs 'key' and 'id', got {entry!r}")
            key, id_ = str(entry["key"]), str(entry["id"])
            if id_ not in maps.get(key, {}):
                raise PayloadError(
                    f"'results' names {key}/{id_}, but the payload has no such record "
                    f"under its {key!r} key"
                )
            results.append((key, id_))
        return results, maps

    def _link_specs(self, cls: type[Model]) -> tuple[_Relation, ...]:
        """The forward relations of `cls`: those whose ids the record itself carries."""
        return tuple(rel for rel in cls.__kantata_relations__.values() if rel.field)

    def _map(self, key: str) -> dict[str, weakref.ref[Model]]:
        m = self._maps.get(key)
        if m is None:
            m = self._maps[key] = {}
            self._batch[key] = {}
            self._sweep_at[key] = self._SWEEP_MIN
        return m

    def _adopt_key(
        self, key: str, records: dict[str, dict[str, Any]]
    ) -> dict[str, Mapping[str, Any]]:
        """Give every record under `key` its object; return what updates applied, by id.

        A new record's dict becomes its object's `__dict__`; a placeholder adopts the dict
        too, keeping the inverse links others recorded on it; a record seen before is updated
        in place (see `_update`).
        """
        self._merged_keys[key] = None
        cls = record_class(key)
        new = cls.__new__
        wm = self._map(key)
        merged = self._batch[key]
        ref = weakref.ref
        updates: dict[str, Mapping[str, Any]] = {}
        for id_, raw in records.items():
            r = wm.get(id_)
            obj = r() if r is not None else None
            raw["id"] = id_
            if obj is None:
                merged[id_] = obj = new(cls)
                obj.__dict__ = raw
                wm[id_] = ref(obj)
                continue
            merged[id_] = obj
            d = obj.__dict__
            if STUB in d:
                for k, v in d.items():
                    if k[0] in (INVERSE, WEAK_INVERSE):
                        raw[k] = v
                obj.__dict__ = raw
            else:
                updates[id_] = self._update(d, raw)
        return updates

    def _link_key(
        self,
        key: str,
        records: dict[str, dict[str, Any]],
        updates: dict[str, Mapping[str, Any]],
    ) -> None:
        """Resolve the links of the records `_adopt_key` gave objects to."""
        linkers = self._linkers(record_class(key))
        if linkers is None:
            return
        link_new, link_update = linkers
        merged = self._batch[key]
        if not updates:
            for id_, raw in records.items():
                link_new(merged[id_], raw, raw)
            return
        for id_, raw in records.items():
            obj = merged[id_]
            applied = updates.get(id_)
            if applied is None:
                link_new(obj, raw, raw)
            elif applied:
                link_update(obj, obj.__dict__, applied)

    @staticmethod
    def _update(d: dict[str, Any], raw: dict[str, Any]) -> Mapping[str, Any]:
        """Merge `raw` into an existing record's dict; return the keys it applied.

        Per field, the value from the newest payload (by `updated_at`) that carried it wins,
        so the same payloads in any order give the same record. `d[OLDER]` remembers the stamp
        of fields whose value came from a payload older than the record's newest.
        """
        new_s = _stamp(raw.get("updated_at"))
        cur_s = _stamp(d.get("updated_at"))
        older: dict[str, datetime] | None = d.get(OLDER)
        if new_s is not None and cur_s is not None and new_s < cur_s:
            if older is None:
                older = d[OLDER] = {}
            applied = {}
            for k, v in raw.items():
                if k not in d or (k in older and older[k] < new_s):
                    d[k] = applied[k] = v
                    older[k] = new_s
            return applied
        if new_s is not None and cur_s is not None and new_s > cur_s:
            # Fields the newer payload leaves out keep the stamp they had.
            kept = [k for k in d if k not in raw and k[0] not in PRIVATE]
            if kept:
                if older is None:
                    older = d[OLDER] = {}
                for k in kept:
                    older.setdefault(k, cur_s)
        d.update(raw)
        if older:
            for k in raw:
                older.pop(k, None)
        return raw

    def _resolve(self, key: str, id_: Any) -> Model | None:
        """The object for `(key, id)`, or a new placeholder the record will fill.

        None (and a warning) for a value that is not an id: the merge never stops half-way.
        """
        if type(id_) is not str:
            if type(id_) is not int:
                _malformed(key, id_)
                return None
            id_ = str(id_)
        m = self._maps.get(key) or self._map(key)
        batch = self._batch[key]
        obj = batch.get(id_)
        if obj is not None:
            return obj
        r = m.get(id_)
        obj = r() if r is not None else None
        if obj is None:
            cls = record_class(key)
            obj = cls.__new__(cls)
            obj.__dict__ = {"id": id_, STUB: True}
            m[id_] = weakref.ref(obj)
        batch[id_] = obj
        return obj

    def _linkers(self, cls: type[Model]) -> tuple[_Linker, _Linker] | None:
        """This graph's link passes for `cls` (new records, updates); None without links."""
        try:
            return self._linker_cache[cls]
        except KeyError:
            pass
        rels = self._link_specs(cls)
        linkers = None
        if rels:
            args: list[Any] = [self._resolve, self._batch]
            for rel in rels:
                if rel.target is None:
                    args += [None, None]
                else:
                    self._map(rel.target)
                    touched = self._batch[rel.target]
                    args += [touched.get, touched.__getitem__]
            linkers = (
                _linker_factory(cls, rels, fresh=True)(*args),
                _linker_factory(cls, rels, fresh=False)(*args),
            )
        self._linker_cache[cls] = linkers
        return linkers

    def _sweep(self) -> None:
        for key, m in self._maps.items():
            if len(m) >= self._sweep_at[key]:
                for id_ in [i for i, r in m.items() if r() is None]:
                    del m[id_]
                # Next sweep after a fixed share of new entries, not when the map doubles:
                # records that died in a reference cycle still count as alive until the
                # cycle collector runs, and a doubling rule would let their dead entries pile
                # up over a long export.
                self._sweep_at[key] = len(m) + max(self._SWEEP_MIN, len(m) // 4)


# -- the generated link pass ---------------------------------------------------------------
#
# Resolving links is the hot loop of a merge: a 200-user page with every include carries
# about 8,000 ids. A generic loop over relation specs spends most of its time unpacking the
# specs and testing relations a record does not carry. Instead, each model class gets one
# straight-line function, generated once from its relations: one `in` test per relation, one
# probe of the merge's batch per single id, and one C-level `map` over the batch for a list
# of ids (the weak map is consulted only on a miss, in `_resolve`). A second
# variant serves records merged for the first time, which have no old targets to unlink.

_UNFEED = """\
old = d.get({slot!r})
if old is not None and old is not t:
    f = feeds_{i}.get(type(old).__kantata_key__)
    if f:
        unlink(old, f, obj)
    old = None
if old is None:
"""

_FEED = """\
if {cond}:
    inv = t.__dict__.get({feed})
    if inv is None:
        t.__dict__[{feed}] = [obj]
    else:
        inv.append(obj)
"""

# A hub's inverse list holds weak references; dead ones are swept as it doubles in size.
_FEED_WEAK = """\
if {cond}:
    inv = t.__dict__.get({feed})
    if inv is None:
        t.__dict__[{feed}] = [wref(obj)]
    else:
        inv.append(wref(obj))
        n = len(inv)
        if n >= 64 and not n & (n - 1):
            inv[:] = [r for r in inv if r() is not None]
"""

_ONE = """\
v = d[{field!r}]
if v is None:
    t = None
else:
    t = get_{i}(v) if type(v) is str else None
    if t is None:
        t = resolve({key!r}, v)
"""

_MANY = """\
v = d[{field!r}]
if type(v) is list:
    try:
        t = tuple(map(item_{i}, v))
    except (KeyError, TypeError):
        t = tuple([o for o in [resolve({key!r}, x) for x in v] if o is not None])
else:
    t = ()
    if v is not None:
        malformed({key!r}, v)
"""

_POLY = """\
v = d.get({field!r})
if type(v) is dict and type(v.get("key")) is str and v.get("id") is not None:
    k = v["key"]
    x = v["id"]
else:
    k = d.get({type_field!r})
    k = type_keys.get(k) or type_to_key(k) if type(k) is str else None
    x = d.get({id_field!r})
if k is None or x is None:
    t = None
else:
    if type(x) is not str:
        x = str(x)
    b = batch.get(k)
    t = b.get(x) if b is not None else None
    if t is None:
        t = resolve(k, x)
"""

_linker_factories: dict[tuple[type[Model], bool], Callable[..., _Linker]] = {}


def _indent(block: str, depth: int) -> str:
    return "".join("    " * depth + line + "\n" for line in block.splitlines())


def _linker_factory(
    cls: type[Model], rels: tuple[_Relation, ...], fresh: bool
) -> Callable[..., _Linker]:
    """Compile (once per class and variant) a factory binding the link pass to a graph.

    `fresh`: the variant for a record merged for the first time, which links nothing yet.
    """
    factory = _linker_factories.get((cls, fresh))
    if factory is not None:
        return factory
    lines = []
    for i, rel in enumerate(rels):
        if rel.poly is not None:
            test = (
                "if " + " or ".join(f"{name!r} in present" for name in (rel.field, *rel.poly)) + ":"
            )
            block = _POLY.format(field=rel.field, type_field=rel.poly[0], id_field=rel.poly[1])
            feed_block = (
                f"f = feeds_{i}.get(type(t).__kantata_key__) if t is not None else None\n"
                + _FEED.format(cond="f", feed="f")
            )
        else:
            test = f"if {rel.field!r} in present:"
            block = (_MANY if rel.many else _ONE).format(i=i, field=rel.field, key=rel.target)
            feed = rel.feeds.get(rel.target) if rel.target else None
            template = _FEED_WEAK if feed and feed[0] == WEAK_INVERSE else _FEED
            feed_block = template.format(cond="t is not None", feed=repr(feed))
        if rel.feeds:
            if fresh:
                block += feed_block
            else:
                block += _UNFEED.format(i=i, slot=rel.slot) + _indent(feed_block, 1)
        block += f"d[{rel.slot!r}] = t\n"
        lines.append(_indent(test, 2) + _indent(block, 3))
    source = (
        "def factory(resolve, batch, "
        + "".join(f"get_{i}, item_{i}, " for i in range(len(rels)))
        + "):\n    def link(obj, d, present):\n"
        + "".join(lines)
        + "    return link\n"
    )
    namespace: dict[str, Any] = {
        "type_keys": _TYPE_KEYS,
        "type_to_key": _type_to_key,
        "malformed": _malformed,
        "unlink": _unlink,
        "wref": weakref.ref,
    }
    for i, rel in enumerate(rels):
        namespace[f"feeds_{i}"] = rel.feeds
    variant = "new records" if fresh else "updates"
    exec(compile(source, f"<kantata_async links of {cls.__name__}, {variant}>", "exec"), namespace)
    factory = namespace["factory"]
    _linker_factories[(cls, fresh)] = factory
    return factory  # type: ignore[no-any-return]
