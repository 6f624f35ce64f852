"""The link pass of a merge: resolve a record's ids into live objects, in its `_links` slot.

Resolving links is the hot loop of a merge: a 200-user page with every include carries about
8,000 ids. A generic loop over relation specs spends most of its time unpacking the specs and
testing relations a record does not carry, so each model class gets one straight-line
function, generated once from its relations (`compiled_linker`): one `in` test per relation,
one probe of the merge's batch per single id, and one C-level `map` over the batch for a list
of ids (the weak map is consulted only on a miss, through `resolve`). A second variant serves
records merged for the first time, which have no old targets to unlink.

`reference_linker` is the same pass written as a plain loop. It is slower and never used by
the graph; the tests check that both give the same links (metaprogramming is kept to this
one module, and earns its place by the benchmark P1).

A link function is called as `link(obj, data, present)`: `data` is the record's `__dict__`
(the server's fields), `present` the fields just merged (all of `data` for a new record). It
writes `obj._links[relation] = target` (a tuple for a many-relation, None for none) and, for
a relation that feeds an inverse one on its target, adds `obj` to the target's
`_links[inverse.inverse_key]` list (of weak references when the inverse is a hub's).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from ._models.base import Model
from ._models.relations import Relation

__all__ = [
    "BatchLinker",
    "Linker",
    "batch_linker",
    "compiled_linker",
    "reference_linker",
    "subject_key",
    "unlink",
]

log = logging.getLogger("kantata_async")

Linker = Callable[[Model, dict[str, Any], Mapping[str, Any]], None]
# The pass over every record of a key merged for the first time: `(records, merged)`, the
# records by id and their objects by id.
BatchLinker = Callable[[dict[str, dict[str, Any]], dict[str, Model]], None]
Resolve = Callable[[str, Any], Model | None]
Batch = dict[str, dict[str, Model]]

# `subject_type` values the API documents for polymorphic subjects, and their top-level keys.
SUBJECT_TYPE_KEYS = {
    "User": "users",
    "Workspace": "workspaces",
    "WorkspaceGroup": "workspace_groups",
    "Estimate": "estimates",
    "Resource": "resources",
    "Story": "stories",
}


def subject_key(subject_type: str) -> str:
    """The top-level key of a polymorphic `subject_type` (`"Story"` -> `"stories"`)."""
    key = SUBJECT_TYPE_KEYS.get(subject_type)
    if key is None:
        snake = "".join("_" + c.lower() if c.isupper() else c for c in subject_type).lstrip("_")
        key = snake + "s"
    return key


def unlink(target: Model, inverse: Relation, obj: Model) -> None:
    """Take `obj` off `target`'s list of records linking to it through `inverse`."""
    linking = target._links.get(inverse.inverse_key)
    if not linking:
        return
    if inverse.weak:
        for i, ref in enumerate(linking):
            if ref() is obj:
                del linking[i]
                return
    elif obj in linking:
        linking.remove(obj)


def malformed(key: str, value: Any) -> None:
    """Log a link value that is not an id (the merge goes on without it)."""
    log.warning("ignoring a link to %s: %r is not an id or a list of ids", key, value)


def _feed(target: Model, inverse: Relation, obj: Model) -> None:
    linking = target._links.get(inverse.inverse_key)
    entry: Any = weakref.ref(obj) if inverse.weak else obj
    if linking is None:
        target._links[inverse.inverse_key] = [entry]
        return
    linking.append(entry)
    n = len(linking)
    if inverse.weak and n >= 64 and not n & (n - 1):
        linking[:] = [r for r in linking if r() is not None]


def _poly_target(rel: Relation, data: dict[str, Any]) -> tuple[str, str] | None:
    """`(key, id)` of a polymorphic link: its `_ref`, else its `_type` and `_id` fields."""
    value = data.get(rel.field or "")
    if type(value) is dict and type(value.get("key")) is str and value.get("id") is not None:
        key, id_ = value["key"], value["id"]
    else:
        assert rel.poly is not None
        kind = data.get(rel.poly[0])
        key = subject_key(kind) if type(kind) is str else None
        id_ = data.get(rel.poly[1])
    if key is None or id_ is None:
        return None
    return key, id_ if type(id_) is str else str(id_)


def reference_linker(resolve: Resolve, rels: tuple[Relation, ...], fresh: bool) -> Linker:
    """The link pass as a plain loop over `rels`: the oracle the generated one must match."""

    def link(obj: Model, data: dict[str, Any], present: Mapping[str, Any]) -> None:
        links = obj._links
        for rel in rels:
            assert rel.field is not None
            target: Any
            if rel.poly is not None:
                if not any(name in present for name in (rel.field, *rel.poly)):
                    continue
                found = _poly_target(rel, data)
                target = resolve(*found) if found is not None else None
            elif rel.field not in present:
                continue
            elif rel.many:
                value = data[rel.field]
                if type(value) is list:
                    resolved = [resolve(rel.target or "", v) for v in value]
                    target = tuple(t for t in resolved if t is not None)
                else:
                    target = ()
                    if value is not None:
                        malformed(rel.target or "", value)
            else:
                value = data[rel.field]
                target = None if value is None else resolve(rel.target or "", value)
            if rel.feeds:
                old = None if fresh else links.get(rel.name)
                if old is not None and old is not target:
                    inverse = rel.feeds.get(type(old).__kantata_key__)
                    if inverse is not None:
                        unlink(old, inverse, obj)
                    old = None
                if old is None and target is not None:
                    inverse = rel.feeds.get(type(target).__kantata_key__)
                    if inverse is not None:
                        _feed(target, inverse, obj)
            links[rel.name] = target

    return link


def batch_linker(link: Linker) -> BatchLinker:
    """`link` (a pass for new records) over every record of a key."""

    def link_all(records: dict[str, dict[str, Any]], merged: dict[str, Model]) -> None:
        for id_, data in records.items():
            link(merged[id_], data, data)

    return link_all


# -- the generated pass --------------------------------------------------------------------

_UNFEED = """\
old = links.get({name!r})
if old is not None and old is not t:
    f = feeds_{i}.get(type(old).__kantata_key__)
    if f:
        unlink(old, f, obj)
    old = None
if old is None:
"""

_FEED = """\
if {cond}:
    tl = t._links
    inv = tl.get({feed})
    if inv is None:
        tl[{feed}] = [obj]
    else:
        inv.append(obj)
"""

# A hub's inverse list holds weak references; dead ones are swept as it doubles in size.
_FEED_WEAK = """\
if {cond}:
    tl = t._links
    inv = tl.get({feed})
    if inv is None:
        tl[{feed}] = [wref(obj)]
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

_factories: dict[tuple[type[Model], bool], Callable[..., tuple[Linker, BatchLinker | None]]] = {}


def _indent(block: str, depth: int) -> str:
    return "".join("    " * depth + line + "\n" for line in block.splitlines())


def _factory(
    cls: type[Model], rels: tuple[Relation, ...], fresh: bool
) -> Callable[..., tuple[Linker, BatchLinker | None]]:
    """Compile (once per class and variant) a factory binding the link pass to a graph.

    The factory returns the pass for one record and, for new records, the same pass over
    every record of a key (None for updates).
    """
    factory = _factories.get((cls, fresh))
    if factory is not None:
        return factory
    lines = []
    # A new record's fields are all just merged: `present` is `d` itself.
    present = "d" if fresh else "present"
    for i, rel in enumerate(rels):
        assert rel.field is not None
        if rel.poly is not None:
            test = "if " + " or ".join(f"{n!r} in {present}" for n in (rel.field, *rel.poly)) + ":"
            block = _POLY.format(field=rel.field, type_field=rel.poly[0], id_field=rel.poly[1])
            feed_block = (
                f"f = feeds_{i}.get(type(t).__kantata_key__) if t is not None else None\n"
                + _FEED.format(cond="f", feed="f.inverse_key")
            )
        else:
            test = f"if {rel.field!r} in {present}:"
            block = (_MANY if rel.many else _ONE).format(i=i, field=rel.field, key=rel.target)
            inverse = rel.feeds.get(rel.target) if rel.target else None
            template = _FEED_WEAK if inverse is not None and inverse.weak else _FEED
            feed_key = repr(inverse.inverse_key) if inverse is not None else "None"
            feed_block = template.format(cond="t is not None", feed=feed_key)
        if rel.feeds:
            if fresh:
                block += feed_block
            else:
                block += _UNFEED.format(i=i, name=rel.name) + _indent(feed_block, 1)
        block += f"links[{rel.name!r}] = t\n"
        lines.append(test + "\n" + _indent(block, 1))
    body = "".join(lines)
    source = (
        "def factory(resolve, batch, "
        + "".join(f"get_{i}, item_{i}, " for i in range(len(rels)))
        + "):\n    def link(obj, d, present):\n        links = obj._links\n"
        + _indent(body, 2)
    )
    if fresh:
        # The same pass over every record of a key at once: no call per record.
        source += (
            "    def link_all(records, merged):\n"
            "        for id_, d in records.items():\n"
            "            obj = merged[id_]\n"
            "            links = obj._links\n" + _indent(body, 3) + "    return link, link_all\n"
        )
    else:
        source += "    return link, None\n"
    namespace: dict[str, Any] = {
        "type_keys": SUBJECT_TYPE_KEYS,
        "type_to_key": subject_key,
        "malformed": malformed,
        "unlink": unlink,
        "wref": weakref.ref,
    }
    for i, rel in enumerate(rels):
        namespace[f"feeds_{i}"] = rel.feeds
    variant = "new records" if fresh else "updates"
    exec(compile(source, f"<kantata_async links of {cls.__name__}, {variant}>", "exec"), namespace)
    factory = namespace["factory"]
    _factories[(cls, fresh)] = factory
    return factory  # type: ignore[no-any-return]


def compiled_linker(
    cls: type[Model], rels: tuple[Relation, ...], fresh: bool, resolve: Resolve, batch: Batch
) -> tuple[Linker, BatchLinker | None]:
    """The generated link pass of `cls` bound to a graph's `resolve` and merge batch.

    With it, for new records (`fresh`), the same pass over every record of a key (else None).

    Every relation with a fixed target must already have its dict in `batch`.
    """
    args: list[Any] = [resolve, batch]
    for rel in rels:
        if rel.target is None:
            args += [None, None]
        else:
            touched = batch[rel.target]
            args += [touched.get, touched.__getitem__]
    return _factory(cls, rels, fresh)(*args)
