"""Records for every collection the people and projects generators do not make by hand.

`fill(data, seed, stamps)` runs after them. Each declared collection with no records yet
gets `generic_count(users)` of them; then every record of every collection, hand-made or
not, gets the documented fields it lacks, so that each field of each schema is sent with a
plausible value (`_values.py`).

Links are what make the data worth walking, so they are chosen with care:

- a single id (`story_id`) points at an existing record of its include's target;
- ids are chosen parent first: of a time entry's `story_id`, `workspace_id` and `user_id`,
  the story is picked first (its records carry a `workspace_id`), the workspace is then
  the story's own, and the user one of the workspace's participants;
- a list of ids whose target points back (a story's `assignment_ids`, where assignments
  carry `story_id`) is not stored: `finish` computes it from the records that point back,
  so it stays true after writes; other lists are drawn from the target;
- a polymorphic reference (`subject_ref`) names a workspace, with `subject_type` and
  `subject_id` to match; `<x>_name` and `<x>_title` copy the name of what `<x>_id` names.

A separate generator (seeded from the dataset's seed) keeps the hand-made records exactly as
they were before this module existed.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ._calendar import Stamps
from ._relations import scope_users
from ._schema import Collection, Record
from ._values import Maker, label_of, maker

if TYPE_CHECKING:
    from ._dataset import Dataset

__all__ = ["fill", "generic_count", "references"]

# Generic records per collection: proportional to the users, within bounds, so that a
# default dataset starts in milliseconds and a 100,000-user one grows by little.
_PER_USERS = 10
_AT_LEAST = 4
_AT_MOST = 400
# What a polymorphic reference names, first held wins.
_SUBJECTS = ("workspaces", "stories", "users")


def generic_count(users: int) -> int:
    """How many records a generic collection gets in a dataset of `users` users."""
    return min(max(_AT_LEAST, users // _PER_USERS), _AT_MOST)


def references(collection: Collection, held: Mapping[str, Collection]) -> dict[str, str]:
    """Single id field -> target key: the includes' ids, then `<x>_id` fields naming a
    held key (`vendor_id` -> vendors), for the targets the fake holds."""
    out = {
        inc.field: inc.target
        for inc in collection.includes.values()
        if not inc.many and not inc.polymorphic and inc.target in held
    }
    for name in collection.schema:
        stem = name.removesuffix("_id")
        if stem == name or name in out:
            continue
        for guess in (stem + "s", stem + "es", stem[:-1] + "ies"):
            if guess in held:
                out[name] = guess
                break
    return out


class _Filler:
    def __init__(self, data: Dataset, seed: int, stamps: Stamps, held: dict[str, Collection]):
        self.data = data
        self.rng = random.Random(f"fill:{seed}")
        self.stamps = Stamps(self.rng, stamps.anchor)
        self.held = held
        self.groups: dict[tuple[str, str], dict[str, list[str]]] = {}
        self.pooled: dict[str, list[str]] = {}
        self.ids_of: dict[str, list[str]] = {}
        # The people a record names are people the owner (user "1") can see: a token sees
        # only them, so a link to anyone else would dangle.
        self.seen = sorted(scope_users(data.context("1")), key=int)
        seen = set(self.seen)
        self.people: dict[str, list[str]] = {}
        for p in data.records.get("participations", {}).values():
            if str(p.get("user_id")) in seen:
                self.people.setdefault(str(p.get("workspace_id")), []).append(str(p["user_id"]))

    def ids(self, key: str) -> list[str]:
        """The ids a link to `key` may take (listed once: every record exists by now)."""
        found = self.pooled.get(key)
        if found is None:
            found = self.seen if key == "users" else list(self.data.records.get(key, {}))
            self.pooled[key] = found
        return found

    def order(self, collection: Collection, refs: dict[str, str]) -> list[str]:
        """The single ids parent first: a target whose records carry more of the other ids
        comes earlier (a story carries the workspace, so it is chosen before it)."""
        fields = list(refs)

        def covers(name: str) -> int:
            schema = self.held[refs[name]].schema
            return -sum(1 for other in fields if other != name and other in schema)

        return sorted(fields, key=lambda name: (covers(name), fields.index(name)))

    def complete(self, collection: Collection) -> None:
        store = self.data.records.get(collection.key, {})
        refs = references(collection, self.held)
        ordered = self.order(collection, refs)
        pools = {target: self.ids(target) for target in set(refs.values())}
        many = {
            inc.field: inc.target
            for inc in collection.includes.values()
            if inc.many and inc.target in self.held and inc.field not in collection.computed
        }
        skip = {"id", *refs, *many, *collection.computed}
        makers: dict[str, Maker] = {
            name: maker(name, fact, collection.singular, self.stamps)
            for name, fact in collection.schema.items()
            if name not in skip
        }
        polymorphic = [i.field for i in collection.includes.values() if i.polymorphic]
        wanted = {*refs, *many, *makers, *polymorphic}
        # `<x>_name` / `<x>_title`: the name of the record `<x>_id` chose.
        names = {
            name: name.removesuffix(suffix) + "_id"
            for name in makers
            for suffix in ("_name", "_title")
            if name.endswith(suffix) and name.removesuffix(suffix) + "_id" in refs
        }
        # A link to the same collection (a post's newest reply) is chosen once every record
        # has its workspace: before, the records to agree with are not all known.
        later = [name for name in ordered if refs[name] == collection.key]
        ordered = [name for name in ordered if name not in later]
        for record_id, record in store.items():
            if record.keys() >= wanted:
                continue  # made complete by hand (a user, a skill membership, ...)
            chosen = self.link(record, ordered, refs, pools)
            for name, target in many.items():
                if name not in record:
                    record[name] = self.some(target, record, chosen)
            for field in polymorphic:
                if field not in record:
                    self.subject(record, field.removesuffix("_ref"))
            if "created_at" in makers and "created_at" not in record:
                record["created_at"], record["updated_at"] = self.stamps.pair()
            for name, make in makers.items():
                if name not in record:
                    source = names.get(name)
                    label = label_of(chosen.get(source)) if source else None
                    record[name] = label or make(self.rng, record_id)
        for record in store.values():
            for name in later:
                if name not in record:
                    record[name] = self.pick(collection.key, record, {}, pools[collection.key])

    def link(
        self, record: Record, ordered: list[str], refs: dict[str, str], pools: dict[str, list[str]]
    ) -> dict[str, Record]:
        """Fill the single ids parent first; the chosen records, by field."""
        chosen: dict[str, Record] = {}
        records = self.data.records
        for name in ordered:
            target = refs[name]
            if name not in record:
                # None when nothing fits: a null link rather than a wrong one.
                record[name] = next(
                    (p[name] for p in chosen.values() if p.get(name) is not None), None
                ) or self.pick(target, record, chosen, pools[target])
            value = record[name]
            if value is None:
                continue
            parent = records.get(target, {}).get(str(value))
            if parent is not None:
                chosen[name] = parent
        return chosen

    def workspace_of(self, record: Record, chosen: dict[str, Record]) -> str | None:
        found = record.get("workspace_id")
        if found is None:
            found = next(
                (p["workspace_id"] for p in chosen.values() if p.get("workspace_id") is not None),
                None,
            )
        return None if found is None else str(found)

    def grouped(self, key: str, field: str) -> dict[str, list[str]]:
        """The ids of `key` by the value of `field` (built once: parents are complete)."""
        found = self.groups.get((key, field))
        if found is None:
            found = {}
            for record in self.data.records.get(key, {}).values():
                value = record.get(field)
                if value is not None and not isinstance(value, list | dict):
                    found.setdefault(str(value), []).append(record["id"])
            self.groups[(key, field)] = found
        return found

    def id_fields(self, key: str) -> list[str]:
        """The id fields of `key`'s records, the workspace first: what must agree above all
        is the project."""
        found = self.ids_of.get(key)
        if found is None:
            schema = self.held[key].schema
            found = sorted(
                (n for n in schema if n.endswith("_id")), key=lambda n: n != "workspace_id"
            )
            self.ids_of[key] = found
        return found

    def pick(
        self, target: str, record: Record, chosen: dict[str, Record], pool: list[str]
    ) -> str | None:
        """A record of `target` that agrees with the ids already chosen (the story of the
        chosen workspace), else any; a user is one of the workspace's people."""
        if target == "users":
            people = self.people.get(self.workspace_of(record, chosen) or "")
            if people:
                return self.rng.choice(people)
        candidates: list[str] | None = None
        for name in self.id_fields(target):
            value = record.get(name)
            if value is None:
                value = next((p[name] for p in chosen.values() if p.get(name) is not None), None)
            agreeing = None if value is None else self.grouped(target, name).get(str(value))
            if not agreeing and name == "workspace_id" and value is not None:
                # Nothing of the project's: no link rather than one to another project.
                return None
            if not agreeing:
                continue
            if candidates is None:
                candidates = agreeing
            else:
                wanted = set(agreeing)
                candidates = [i for i in candidates if i in wanted] or candidates
        if candidates:
            return self.rng.choice(candidates)
        return self.rng.choice(pool) if pool else None

    def some(self, target: str, record: Record, chosen: dict[str, Record]) -> list[str]:
        pool = self.ids(target)
        if target == "users":
            pool = self.people.get(self.workspace_of(record, chosen) or "") or pool
        return self.rng.sample(pool, k=min(len(pool), self.rng.randrange(1, 4)))

    def subject(self, record: Record, prefix: str) -> None:
        key = next(k for k in _SUBJECTS if self.data.records.get(k))
        target = self.rng.choice(self.ids(key))
        record[f"{prefix}_ref"] = {"key": key, "id": target}
        record.setdefault(f"{prefix}_type", self.held[key].singular)
        record.setdefault(f"{prefix}_id", int(target))


def fill(data: Dataset, seed: int, stamps: Stamps, held: dict[str, Collection]) -> None:
    """Give every declared collection records, and every record its documented fields."""
    count = generic_count(data.users)
    for key in held:
        if not data.records.get(key):
            for _ in range(count):
                data.add(key, {})
    filler = _Filler(data, seed, stamps, held)
    for collection in _parents_first(held):
        filler.complete(collection)


def _parents_first(held: dict[str, Collection]) -> list[Collection]:
    """The collections, each after the targets of its single ids (cycles broken by key)."""
    done: dict[str, Collection] = {}
    visiting: set[str] = set()

    def visit(key: str) -> None:
        if key in done or key in visiting:
            return
        visiting.add(key)
        for target in sorted(set(references(held[key], held).values())):
            visit(target)
        visiting.discard(key)
        done[key] = held[key]

    for key in sorted(held):
        visit(key)
    return list(done.values())
