"""The storage under `Graph` (see `_graph`): where its objects live and how links find them.

`_GraphStore` owns the graph's state and the parts of it that do not depend on how a payload
merges:

- the identity maps (one dict of weak references per top-level key) and the per-merge batch
  of strong references that links resolve against first;
- `_resolve`, which finds the object for an id or leaves a placeholder the record fills
  later, and the link passes (`_linkers`) bound to it, cached per record class;
- the logical clock, the tombstones of deleted records and their pruning;
- sweeping dead weak references out of the maps, amortised over the merges.

`Graph` (in `_graph`) subclasses it with the public API and the merge itself.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from ._links import BatchLinker, Linker, batch_linker, compiled_linker, malformed, reference_linker
from ._models.base import Model, record_class
from ._models.relations import Relation
from ._models.state import RecordState

if TYPE_CHECKING:
    from ._graph import Ticket

__all__ = ["_GraphStore"]


class _GraphStore:
    """The state of a `Graph` and its housekeeping: identity maps, resolution, sweeping."""

    # Sweep dead weak references out of a key's map once it grows past this many entries
    # (and past a fixed share more after the last sweep): amortised O(1) per record.
    _SWEEP_MIN = 4096
    # Tombstones of deleted records are pruned past this many, once no request sent before
    # them can still be merged.
    _TOMBSTONES_MIN = 64
    # False: link with the plain-loop pass (the tests' oracle) instead of the generated one.
    _compiled_links = True

    def __init__(self) -> None:
        self._maps: dict[str, dict[str, weakref.ref[Model]]] = {}
        self._sweep_at: dict[str, int] = {}
        # New entries since every map was last swept: maps that no merge reaches again are
        # swept (and dropped, once empty) on this count.
        self._offered = 0
        self._linker_cache: dict[type[Model], tuple[Linker, Linker, BatchLinker]] = {}
        # Strong references to every object the running merge has touched, per key. Links
        # resolve here first (one dict probe, no weak reference to follow); emptied when the
        # merge returns. The dicts of link targets are bound into the link passes, so their
        # keys are pinned and never dropped.
        self._batch: dict[str, dict[str, Model]] = {}
        self._pinned: set[str] = set()
        self._merged_keys: dict[str, None] = {}
        # Keys whose batch the running merge filled through `_resolve` (link targets), and
        # the ticket of the request the running merge answers (None: no ordering).
        self._touched: set[str] = set()
        self._cutoff: int | None = None
        self._full_sweep_at = self._SWEEP_MIN
        self._clock = 0
        self._open_tickets: weakref.WeakSet[Ticket] = weakref.WeakSet()
        self._tombstones: dict[str, dict[str, int]] = {}
        # Whether `forget` ever ran: until then, a record merged again unchanged keeps its links.
        self._forgot = False

    def _tick(self) -> int:
        self._clock += 1
        return self._clock

    def _prune_tombstones(self) -> None:
        if sum(map(len, self._tombstones.values())) < self._TOMBSTONES_MIN:
            return
        # A tombstone matters only to answers of requests sent before it.
        oldest = min((t.value for t in self._open_tickets), default=self._clock + 1)
        for key in list(self._tombstones):
            kept = {i: at for i, at in self._tombstones[key].items() if at > oldest}
            if kept:
                self._tombstones[key] = kept
            else:
                del self._tombstones[key]

    @staticmethod
    def _link_specs(cls: type[Model]) -> tuple[Relation, ...]:
        """The forward relations of `cls`: those whose ids the record itself carries."""
        return tuple(rel for rel in cls.__kantata_relations__.values() if rel.field)

    def _map(self, key: str) -> dict[str, weakref.ref[Model]]:
        m = self._maps.get(key)
        if m is None:
            m = self._maps[key] = {}
            self._batch[key] = {}
            self._sweep_at[key] = self._SWEEP_MIN
        return m

    def _resolve(self, key: str, id_: Any) -> Model | None:
        """The object for `(key, id)`, or a new placeholder the record will fill.

        None (and a warning) for a value that is not an id: the merge never stops half-way.
        """
        if type(id_) is not str:
            if type(id_) is not int:
                malformed(key, id_)
                return None
            id_ = str(id_)
        m = self._maps.get(key) or self._map(key)
        batch = self._batch[key]
        obj = batch.get(id_)
        if obj is not None:
            return obj
        if self._tombstones and self._cutoff is not None:
            deleted = self._tombstones.get(key)
            if deleted and deleted.get(id_, 0) > self._cutoff:
                return None  # an answer older than the delete: its link to it is gone
        r = m.get(id_)
        obj = r() if r is not None else None
        if obj is None:
            cls = record_class(key)
            obj = cls.__new__(cls)
            obj.__dict__ = {"id": id_}
            obj._links = {}
            obj._state = RecordState(placeholder=True)
            m[id_] = weakref.ref(obj)
        batch[id_] = obj
        self._touched.add(key)
        return obj

    def _linkers(self, cls: type[Model]) -> tuple[Linker, Linker, BatchLinker] | None:
        """This graph's link passes for `cls` (new records, updates, every record of a key
        new); None without links."""
        cached = self._linker_cache.get(cls)
        if cached is not None:
            return cached
        rels = self._link_specs(cls)
        if not rels:
            return None  # not cached: a record class without links may be one of thousands
        for rel in rels:
            if rel.target is not None:
                self._map(rel.target)
                self._pinned.add(rel.target)
        linkers: tuple[Linker, Linker, BatchLinker]
        if self._compiled_links:
            link_new, link_all = compiled_linker(cls, rels, True, self._resolve, self._batch)
            link_update, _ = compiled_linker(cls, rels, False, self._resolve, self._batch)
            assert link_all is not None
            linkers = (link_new, link_update, link_all)
        else:
            link_new = reference_linker(self._resolve, rels, True)
            link_update = reference_linker(self._resolve, rels, False)
            linkers = (link_new, link_update, batch_linker(link_new))
        self._linker_cache[cls] = linkers
        return linkers

    def _sweep(self, keys: list[str]) -> None:
        """Drop dead entries: of the maps just merged into as they grow, of all now and then."""
        for key in keys:
            m = self._maps[key]
            if len(m) >= self._sweep_at[key]:
                self._sweep_map(key, m)
        if self._offered < self._full_sweep_at:
            return
        # Maps no merge touches again (one record each under thousands of odd keys, say)
        # never reach their own threshold: after a fixed share of new records all are
        # swept, and the empty ones of keys no link pass is bound to are dropped.
        self._offered = 0
        for key, m in list(self._maps.items()):
            self._sweep_map(key, m)
            if not m and key not in self._pinned:
                del self._maps[key], self._batch[key], self._sweep_at[key]
                self._merged_keys.pop(key, None)
        entries = sum(map(len, self._maps.values()))
        self._full_sweep_at = max(self._SWEEP_MIN, len(self._maps), entries // 4)

    def _sweep_map(self, key: str, m: dict[str, weakref.ref[Model]]) -> None:
        for id_ in [i for i, r in m.items() if r() is None]:
            del m[id_]
        # Next sweep after a fixed share of new entries, not when the map doubles: records
        # that died in a reference cycle still count as alive until the cycle collector
        # runs, and a doubling rule would let their dead entries pile up over a long export.
        self._sweep_at[key] = len(m) + max(self._SWEEP_MIN, len(m) // 4)
