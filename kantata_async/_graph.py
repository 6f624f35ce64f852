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
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar, overload

from ._errors import PayloadError
from .models._base import OLDER, STUB, Model, _Relation, record_class

__all__ = ["Graph"]

log = logging.getLogger("kantata_async")

M = TypeVar("M", bound=Model)

_ENVELOPE_KEYS = frozenset({"count", "meta", "results"})
_MISSING: Any = object()

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
    _SWEEP_MIN = 1024

    def __init__(self) -> None:
        self._maps: dict[str, dict[str, weakref.ref[Model]]] = {}
        self._sweep_at: dict[str, int] = {}
        self._links: dict[type[Model], tuple[_Relation, ...]] = {}

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
        """The top-level keys the graph has seen."""
        return list(self._maps)

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
        # `users`) is one map and merges once. `merged` holds every object strongly until
        # the caller has the primaries.
        merged: dict[str, dict[str, Model]] = {}
        for key, records in maps.items():
            if key not in primary:
                merged[key] = self._merge_key(key, records)
        for key, records in maps.items():
            if key in primary:
                merged[key] = self._merge_key(key, records)
        out = [merged[key][id_] for key, id_ in results]
        self._sweep()
        return out

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
        obj.__dict__.setdefault(rel.inverse_slot, {})

    def forget(self, key: str | type[Model], id: str | int) -> Model | None:
        """Remove `(key, id)` from the graph and from the inverse links that list it.

        Used after a successful DELETE. Returns the object, which callers may still hold.
        """
        if isinstance(key, type):
            key = key.__kantata_key__
        ref = self._maps.get(key, {}).pop(str(id), None)
        obj = ref() if ref is not None else None
        if obj is None:
            return None
        d = obj.__dict__
        for rel in self._link_specs(type(obj)):
            target = d.get(rel.slot)
            if rel.feeds and isinstance(target, Model):
                slot = rel.feeds.get(type(target).__kantata_key__)
                if slot:
                    target.__dict__.get(slot, {}).pop(obj, None)
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
            if not isinstance(value, dict) or not all(type(r) is dict for r in value.values()):
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
        specs = self._links.get(cls)
        if specs is None:
            specs = self._links[cls] = tuple(
                rel for rel in cls.__kantata_relations__.values() if rel.field
            )
        return specs

    def _map(self, key: str) -> dict[str, weakref.ref[Model]]:
        m = self._maps.get(key)
        if m is None:
            m = self._maps[key] = {}
            self._sweep_at[key] = self._SWEEP_MIN
        return m

    def _merge_key(self, key: str, records: dict[str, dict[str, Any]]) -> dict[str, Model]:
        merged: dict[str, Model] = {}
        cls = record_class(key)
        new = cls.__new__
        links = self._link_specs(cls)
        wm = self._map(key)
        ref = weakref.ref
        for id_, raw in records.items():
            r = wm.get(id_)
            obj = r() if r is not None else None
            raw["id"] = id_
            if obj is None:
                merged[id_] = obj = new(cls)
                obj.__dict__ = raw
                wm[id_] = ref(obj)
                if links:
                    self._link(obj, raw, links, raw)
                continue
            merged[id_] = obj
            d = obj.__dict__
            if STUB in d:
                # A placeholder: keep what others recorded on it (inverse links), adopt the rest.
                for k, v in d.items():
                    if k[0] == "~":
                        raw[k] = v
                obj.__dict__ = raw
                if links:
                    self._link(obj, raw, links, raw)
            else:
                applied = self._update(d, raw)
                if links and applied:
                    self._link(obj, d, links, applied)
        return merged

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
            kept = [k for k in d if k not in raw and k[0] not in "@~"]
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

    def _resolve(self, key: str, id_: Any) -> Model:
        """The object for `(key, id)`, or a new placeholder the record will fill."""
        if type(id_) is not str:
            id_ = str(id_)
        m = self._map(key)
        r = m.get(id_)
        if r is not None:
            obj = r()
            if obj is not None:
                return obj
        cls = record_class(key)
        obj = cls.__new__(cls)
        obj.__dict__ = {"id": id_, STUB: True}
        m[id_] = weakref.ref(obj)
        return obj

    def _target(self, rel: _Relation, d: Mapping[str, Any]) -> Model | list[Model] | None:
        """Resolve the ids `d` holds for `rel` into objects."""
        value = d.get(rel.field)  # type: ignore[arg-type]
        if rel.poly is None:
            if value is None:
                return [] if rel.many else None
            key = rel.target
            assert key is not None
            if rel.many:
                return [self._resolve(key, v) for v in value]
            return self._resolve(key, value)
        if rel.many:
            refs = value or []
            return [self._resolve(str(r["key"]), r["id"]) for r in refs if isinstance(r, dict)]
        if isinstance(value, dict) and "key" in value and "id" in value:
            return self._resolve(str(value["key"]), value["id"])
        type_field, id_field = rel.poly
        subject_type, subject_id = d.get(type_field), d.get(id_field)
        if subject_type is None or subject_id is None:
            return None
        return self._resolve(_type_to_key(str(subject_type)), subject_id)

    def _link(
        self,
        obj: Model,
        d: dict[str, Any],
        links: tuple[_Relation, ...],
        present: Mapping[str, Any],
    ) -> None:
        """Store strong references for every link whose ids are among `present`'s keys."""
        for rel in links:
            if rel.field not in present and (
                rel.poly is None or (rel.poly[0] not in present and rel.poly[1] not in present)
            ):
                continue
            target = self._target(rel, d)
            if rel.feeds:
                old = d.get(rel.slot, _MISSING)
                if old is not target:
                    if isinstance(old, Model):
                        slot = rel.feeds.get(type(old).__kantata_key__)
                        if slot:
                            old.__dict__.get(slot, {}).pop(obj, None)
                    if isinstance(target, Model):
                        slot = rel.feeds.get(type(target).__kantata_key__)
                        if slot:
                            inverse = target.__dict__.get(slot)
                            if inverse is None:
                                inverse = target.__dict__[slot] = {}
                            inverse[obj] = None
            d[rel.slot] = target

    def _sweep(self) -> None:
        for key, m in self._maps.items():
            if len(m) >= self._sweep_at[key]:
                for id_ in [i for i, r in m.items() if r() is None]:
                    del m[id_]
                self._sweep_at[key] = max(self._SWEEP_MIN, 2 * len(m))
