"""`Graph`: the identity map and the response normalizer. Pure and synchronous: no I/O.

Every top-level key of a Kantata envelope (`users`, `account_memberships`, ...) is a map of
records keyed by id. `Graph.merge` folds them into one object per `(key, id)`:

- A new record becomes a model instance whose `__dict__` *is* the decoded JSON object (no
  per-field copying; ids and dates convert lazily on first read, see `_models.fields`). The
  graph's own bookkeeping stays out of that dict (see `_models.state`): any key is data.
- A record seen before updates the same instance in place. Present keys overwrite (an explicit
  `null` sets `None`), absent keys keep their value, and `updated_at` decides between payloads
  that arrive out of order: per field, the value from the newest payload that carried it wins.
  A record whose answer equals (`==`) what it holds keeps its dict and its links as they are.
- Answers are ordered by when their request was sent (`Graph.ticket`): an answer to a request
  sent before a write's answer arrived does not overwrite what the write returned, and one
  sent before a delete does not bring the deleted record back.
- Links are resolved in the same pass into strong references (see `_links`), so a held object
  keeps what it links to alive. Ids naming records not seen yet get a placeholder that the
  record fills in place when it arrives, so a reference taken early sees data merged later.

The graph itself holds records weakly: what nothing else references is freed. Its storage
(identity maps, placeholders, link passes, tombstones, sweeping) is `_graph_store`'s.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, TypeVar, overload

from ._envelope import check_envelope
from ._graph_store import _GraphStore
from ._links import unlink
from ._models.base import Model, record_class
from ._models.state import is_placeholder, state_of
from ._newest import merge_newest

__all__ = ["Graph", "Ticket"]

log = logging.getLogger("kantata_async")

M = TypeVar("M", bound=Model)

# The update of a record whose answer equals what it holds: it keeps its dict and its links.
_SAME: Mapping[str, Any] = MappingProxyType({})


class Ticket:
    """A moment in a graph's logical time: when a request was sent (see `Graph.ticket`)."""

    __slots__ = ("__weakref__", "value")

    def __init__(self, value: int) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Ticket({self.value})"


class Graph(_GraphStore):
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
        if obj is None or is_placeholder(obj):
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
            if obj is not None and not is_placeholder(obj):
                yield obj

    def count(self, key: str | type[Model]) -> int:
        """How many live, loaded objects the graph holds under `key`."""
        return sum(1 for _ in self.objects(key))

    def keys(self) -> list[str]:
        """The top-level keys the graph holds live records under, in first-seen order."""
        return [key for key in self._merged_keys if any(True for _ in self.objects(key))]

    # -- writing ------------------------------------------------------------------------

    def ticket(self) -> Ticket:
        """Now, in this graph's logical time: take one just before sending a request.

        Pass it to `merge(sent=...)` with the answer, so that the graph can tell answers to
        requests sent before a write (or a delete) from answers sent after it.
        """
        self._clock += 1
        ticket = Ticket(self._clock)
        self._open_tickets.add(ticket)
        return ticket

    def merge(
        self, payload: Mapping[str, Any], *, sent: Ticket | None = None, write: bool = False
    ) -> list[Model]:
        """Merge one decoded envelope; return its primary records in `results` order.

        `sent` is the ticket taken when the request was sent (None: no ordering, the
        payload is taken as the newest). A record that a write's answer set after `sent`
        keeps what the write returned; a record deleted (`forget`) after `sent` is not
        merged again, nor returned. `write=True` marks the payload as the answer to a write
        (or to the request a write made): its records are fenced against older answers.

        The graph adopts the record dicts inside `payload` as the objects' storage, so the
        payload belongs to the graph afterwards: do not reuse or change it.

        Raises `PayloadError`, before changing anything, when the payload is not an envelope
        or `results` names a record the payload does not carry. A record under a sideload
        key that is not a JSON object is skipped (with a warning); the others merge.
        """
        results, maps = check_envelope(payload)
        primary = {key for key, _ in results}
        # Sideloads first, primaries last: a key that is both (a user and its manager under
        # `users`) is one map and merges once.
        order = [k for k in maps if k not in primary] + [k for k in maps if k in primary]
        cutoff = None if sent is None else sent.value
        self._cutoff = cutoff
        try:
            # Two passes: every record of the payload has its object before any link is
            # resolved, so links between records of one payload never need a placeholder.
            adopted = {key: self._adopt_key(key, maps[key], cutoff, write) for key in order}
            for key in order:
                self._link_key(key, maps[key], *adopted[key])
            if write:
                self._fence(order, maps, adopted, cutoff or self._clock)
            found = []
            for key, id_ in results:
                if key in adopted and id_ in adopted[key][1]:
                    continue  # deleted after the request was sent
                found.append(self._batch[key][id_])
            return found
        finally:
            for key in (*order, *self._touched):
                self._batch[key].clear()
            self._touched.clear()
            self._cutoff = None
            self._sweep(order)

    def mark_loaded(self, obj: Model, relation: str) -> None:
        """Declare an inverse relation of `obj` complete, even if empty.

        A many-relation derived from the other side (`user.workweek_memberships`, from each
        membership's `user_id`) raises `RelationNotLoadedError` until it is known to be
        complete, because the graph cannot tell whether it holds every linking record. Call
        this after fetching every such record (for example all workweek memberships of a
        user); listing them with their own filter (`user_ids=[...]`) does it for you.
        """
        rel = type(obj).__kantata_relations__.get(relation)
        if rel is None or not rel.inverse_key:
            raise ValueError(
                f"{type(obj).__name__}.{relation} is not an inverse relation; inverse ones are: "
                + ", ".join(
                    sorted(n for n, r in type(obj).__kantata_relations__.items() if r.inverse_key)
                )
            )
        state = state_of(obj)
        if state.complete is None:
            state.complete = set()
        state.complete.add(relation)

    def forget(self, key: str | type[Model], id: str | int) -> Model | None:
        """Remove `(key, id)` from the graph and from the inverse links that list it.

        Used after a successful DELETE: answers to requests sent before now will not bring
        the record back. Returns the object, which callers may still hold.
        """
        if isinstance(key, type):
            key = key.__kantata_key__
        id_ = str(id)
        self._forgot = True
        self._tombstones.setdefault(key, {})[id_] = self._tick()
        self._prune_tombstones()
        ref = self._maps.get(key, {}).pop(id_, None)
        obj = ref() if ref is not None else None
        if obj is None or is_placeholder(obj):
            return None
        for rel in self._link_specs(type(obj)):
            target = obj._links.get(rel.name)
            if rel.feeds and isinstance(target, Model):
                inverse = rel.feeds.get(type(target).__kantata_key__)
                if inverse is not None:
                    unlink(target, inverse, obj)
        return obj

    # -- internals ----------------------------------------------------------------------

    def _adopt_key(
        self, key: str, records: dict[str, dict[str, Any]], cutoff: int | None, write: bool
    ) -> tuple[dict[str, Mapping[str, Any]], set[str]]:
        """Give every record under `key` its object.

        Returns the updates applied to records seen before, by id (empty for one whose
        answer is older than what it holds, `_SAME` for one whose answer equals it), and the
        ids skipped because the record was deleted after the request was sent. A new
        record's dict becomes its object's `__dict__`; a placeholder adopts the dict too; a
        record seen before is updated in place (see `merge_newest`).
        """
        self._merged_keys[key] = None
        cls = record_class(key)
        new = cls.__new__
        wm = self._map(key)
        entries = len(wm)
        merged = self._batch[key]
        ref = weakref.ref
        updates: dict[str, Mapping[str, Any]] = {}
        skipped: set[str] = set()
        tombs = self._tombstones.get(key) if cutoff is not None else None
        if not wm and not tombs:
            # The first records under `key` (into a new graph, say): every one is new.
            for id_, raw in records.items():
                raw["id"] = id_
                merged[id_] = first = new(cls)
                first.__dict__ = raw
                first._links = {}
                first._state = None
                wm[id_] = ref(first)
            self._offered += len(wm)
            return updates, skipped
        limit = cutoff or 0
        same = not self._forgot
        for id_, raw in records.items():
            if tombs and tombs.get(id_, 0) > limit:
                skipped.add(id_)
                continue
            r = wm.get(id_)
            obj = r() if r is not None else None
            raw["id"] = id_
            if obj is None:
                merged[id_] = obj = new(cls)
                obj.__dict__ = raw
                obj._links = {}
                obj._state = None
                wm[id_] = ref(obj)
                continue
            merged[id_] = obj
            state = obj._state
            if state is None:
                d = obj.__dict__
                if same and raw == d:
                    # Nothing changed, so the links made from these values still hold (unless
                    # a `forget` took a target out of the graph since).
                    updates[id_] = _SAME
                    continue
                if raw.get("updated_at") == d.get("updated_at"):
                    # The same version again, or a record without `updated_at`: the common
                    # case. The answer's dict becomes the storage, as for a new record (a
                    # `d.update` would touch every old value), keeping what it left out.
                    if len(d) > len(raw) or not d.keys() <= raw.keys():
                        for k in d.keys() - raw.keys():
                            raw[k] = d[k]
                    obj.__dict__ = raw
                    updates[id_] = raw
                else:
                    updates[id_] = merge_newest(obj, d, raw)
            elif state.placeholder:
                obj.__dict__ = raw
                state.placeholder = False
            elif cutoff is not None and (state.written if write else state.fence) > cutoff:
                updates[id_] = {}  # an older answer than what the record holds
            else:
                updates[id_] = merge_newest(obj, obj.__dict__, raw)
        self._offered += len(wm) - entries
        return updates, skipped

    def _link_key(
        self,
        key: str,
        records: dict[str, dict[str, Any]],
        updates: dict[str, Mapping[str, Any]],
        skipped: set[str],
    ) -> None:
        """Resolve the links of the records `_adopt_key` gave objects to."""
        linkers = self._linkers(record_class(key))
        if linkers is None:
            return
        link_new, link_update, link_all = linkers
        merged = self._batch[key]
        if not updates and not skipped:
            link_all(records, merged)
            return
        for id_, raw in records.items():
            applied = updates.get(id_)
            if applied is None:
                if id_ not in skipped:
                    link_new(merged[id_], raw, raw)
            elif applied:  # not `_SAME`, nor an older answer
                obj = merged[id_]
                link_update(obj, obj.__dict__, applied)

    def _fence(
        self,
        order: list[str],
        maps: dict[str, dict[str, dict[str, Any]]],
        adopted: dict[str, tuple[dict[str, Mapping[str, Any]], set[str]]],
        written: int,
    ) -> None:
        """Mark the records a write's answer set: older answers must not overwrite them."""
        fence = self._tick()
        for key in order:
            updates, skipped = adopted[key]
            merged = self._batch[key]
            for id_ in maps[key]:
                applied = updates.get(id_)
                if id_ in skipped or (applied is not None and not applied and applied is not _SAME):
                    continue  # deleted since, or an older answer than what the record holds
                state = state_of(merged[id_])
                state.fence, state.written = fence, written
