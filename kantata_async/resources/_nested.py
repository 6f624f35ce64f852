"""Nested includes (`account_membership.skill_memberships`), resolved by the SDK.

Kantata takes one level of `include` and silently drops dotted names. The SDK sends the first
level with the request, then, for the whole batch of records, fetches each deeper level with
`GET /<key>?only=<ids>&include=<next>` in chunks (concurrently, under the client's limit) and
merges the answers into the graph before the records are handed out. A few requests per page,
not one per record.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from .._models.base import _REGISTRY, Model, is_loaded
from .._models.relations import Relation
from .._models.state import is_placeholder
from .._query import chunks
from ._registry import RESOURCES

if TYPE_CHECKING:
    from ._api import ClientAPI

__all__ = ["IncludeTree", "load_nested", "parse_includes"]

log = logging.getLogger("kantata_async")
T = TypeVar("T")

# name -> subtree: {"account_membership": {"skill_memberships": {}}, "role": {}}
IncludeTree = dict[str, "IncludeTree"]


async def gather_or_cancel(jobs: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
    """Run `jobs` concurrently and return their results; on the first failure cancel the
    rest, then raise it.

    Unlike a bare `gather`, nothing keeps running after the error has been raised; unlike a
    `TaskGroup`, the caller gets the error itself, not an `ExceptionGroup`.
    """
    tasks = [asyncio.ensure_future(job) for job in jobs]
    if not tasks:
        return []
    try:
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except BaseException:  # cancelled while waiting
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    return [task.result() for task in tasks]


def relation_for(key: str, name: str) -> Relation | None:
    """The relation that `include=<name>` loads on records under `key`."""
    cls = _REGISTRY.get(key)
    if cls is None:
        return None
    for rel in cls.__kantata_relations__.values():
        if rel.include == name:
            return rel
    return None


def includable(key: str) -> list[str]:
    """The include names of `key` (its relations that have one)."""
    cls = _REGISTRY.get(key)
    if cls is None:
        return []
    return sorted(r.include for r in cls.__kantata_relations__.values() if r.include)


def _valid_paths(key: str) -> list[str]:
    paths = []
    for name in includable(key):
        paths.append(name)
        rel = relation_for(key, name)
        if rel is not None and rel.target in RESOURCES:
            paths += [f"{name}.{sub}" for sub in includable(rel.target)]
    return paths


def parse_includes(key: str, include: Sequence[str]) -> tuple[list[str], IncludeTree]:
    """Split `include` into what the server gets and the tree the SDK resolves.

    The first level is what records under `key` can include; a deeper level needs a
    resource for the records it starts from (the SDK fetches them by id). Raises
    `ValueError` for an unknown name or path, listing the valid ones (two levels), in the
    form the argument takes.
    """
    if isinstance(include, str):
        raise ValueError(f"include must be a list of names, not a string: use [{include!r}]")
    tree: IncludeTree = {}
    for entry in include:
        if not isinstance(entry, str) or not entry:
            raise ValueError(f"include: {entry!r} is not an include name")
        parts = entry.split(".")
        current_key: str | None = key
        node = tree
        for depth, part in enumerate(parts):
            rel = relation_for(current_key or "", part)
            nested_ok = depth + 1 < len(parts)
            if rel is None or (nested_ok and rel.target not in RESOURCES):
                raise ValueError(
                    f"include: {entry!r} is not valid here; choose from: "
                    + ", ".join(_valid_paths(key))
                )
            node = node.setdefault(part, {})
            current_key = rel.target
    return sorted(tree), tree


def _targets(objs: Iterable[Model], attr: str) -> list[Model]:
    """The distinct records relation `attr` links to on `objs`, placeholders included."""
    seen: dict[int, Model] = {}
    for obj in objs:
        rel = type(obj).__kantata_relations__[attr]
        for target in rel.targets(obj) or ():
            seen.setdefault(id(target), target)
    return list(seen.values())


def _incomplete(obj: Model, names: Sequence[str]) -> bool:
    """Whether `obj` must be fetched again to load relations `names`.

    True for a placeholder, a relation no response carried, or one whose ids arrived
    (native foreign keys come without an include) but whose records did not.
    """
    if is_placeholder(obj):
        return True
    for name in names:
        if not is_loaded(obj, name):
            return True
        if any(is_placeholder(t) for t in _targets([obj], name)):
            return True
    return False


async def load_nested(api: ClientAPI, key: str, records: Sequence[Model], tree: IncludeTree) -> int:
    """Fetch every level below the first of `tree` for `records` (records under `key`).

    Returns how many records could not be loaded with their relations (the server did not
    return them, or not what they link to: hidden from the token, or deleted); each level
    that leaves some is logged as a warning.
    """
    jobs = []
    for name, subtree in tree.items():
        if not subtree:
            continue
        rel = relation_for(key, name)
        assert rel is not None and rel.target is not None  # checked by parse_includes
        targets = _targets(records, rel.name)
        if targets:
            jobs.append(_load_level(api, rel.target, targets, subtree))
    return sum(await gather_or_cancel(jobs))


async def _load_level(api: ClientAPI, key: str, targets: list[Model], tree: IncludeTree) -> int:
    names = sorted(tree)
    missing = [t.__dict__["id"] for t in targets if _incomplete(t, names)]
    resource = api.resource(key)
    assert resource is not None  # checked by parse_includes
    await gather_or_cancel([resource._fetch_by_ids(chunk, names) for chunk in chunks(missing)])
    unresolved = [t for t in targets if _incomplete(t, names)]
    if unresolved:
        log.warning(
            "%d %s record(s) could not be loaded with %s: the server did not return them "
            "or what they link to (ids %s)",
            len(unresolved),
            key,
            ", ".join(names),
            ", ".join(t.__dict__["id"] for t in unresolved[:10]),
        )
    loaded = [t for t in targets if not is_placeholder(t)]
    return len(unresolved) + await load_nested(api, key, loaded, tree)
