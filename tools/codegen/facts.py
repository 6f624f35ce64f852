"""The facts, read and normalised into what the generator emits: one `Collection` per key.

Input: `kantata_async/testing/facts/<tag>.json` (Kantata's API description, facts only) and
`quirks.py`. Known inaccuracies of the facts are handled here: record schemas omit `id`,
ids are typed integer (they are `str` in the SDK), `optional_fields` is a comma-joined
string on the wire.
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import quirks

FACTS = Path(__file__).resolve().parents[2] / "kantata_async" / "testing" / "facts"

# Query parameters the resources take as their own keywords, not as filters.
READ_PARAMS = frozenset({"include", "optional_fields", "order", "page", "per_page", "only"})


@dataclass
class Param:
    """A filter, body field or path parameter: its Python name, wire name and kind."""

    name: str
    wire: str
    kind: str  # a `Kind` member name (filters, path) or a body kind (see `body_kind`)
    required: bool = False


@dataclass
class Relation:
    name: str
    target: str | None  # top-level key; None: polymorphic
    field: str | None  # None: derived from the other side's ids only
    many: bool
    inverse_of: str | None = None
    weak: bool = False


@dataclass
class Action:
    """An operation that is neither list, show, create, update nor delete."""

    name: str  # the method name: the path's words
    operation_id: str
    method: str
    segments: tuple[str, ...]  # path after the collection's path, "{id}" for the record id
    returns: str | None  # the top-level key of the records it answers, None: raw JSON
    body_wrapper: str | None
    body: list[Param]
    optional_fields: bool = False  # whether it takes `optional_fields=`


@dataclass
class Collection:
    key: str
    tag: str
    model: str  # the model class name
    path: tuple[str, ...]  # path segments; "{name}" for a path parameter
    path_params: list[Param]
    fields: dict[str, str]  # name -> annotation
    relations: list[Relation]
    filters: list[Param] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)
    optional_fields: list[str] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)
    show: bool = False
    create: list[Param] | None = None
    update: list[Param] | None = None
    wrapper: str = ""
    delete: bool = False
    delete_many: bool = False
    actions: list[Action] = field(default_factory=list)
    listable: bool = True  # False: a sideload-only type, no resource of its own
    raw: bool = False  # True: the list answers a body that is not an envelope


def load() -> dict[str, dict[str, Any]]:
    """Every tag's facts, by tag."""
    return {p.stem: json.loads(p.read_text("utf-8")) for p in sorted(FACTS.glob("*.json"))}


def py_name(wire: str) -> str:
    """A Python identifier for a wire name (`except` -> `except_`)."""
    name = re.sub(r"\W", "_", wire)
    return name + "_" if keyword.iskeyword(name) or not name.isidentifier() else name


def class_name(schema: str) -> str:
    """`TimeEntry`; a namespaced `Foo::Models::Bar` (written `Foo__Models__Bar`) -> `Bar`."""
    last = re.split(r"__|::", schema)[-1]
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"\W", last) if p)


def annotation(name: str, spec: dict[str, Any] | None) -> str:
    """The model annotation of a field: ids are `str`, dates `date`, times `datetime`."""
    if name == "id":
        return "str"
    if name.endswith("_ids"):
        return "list[str] | None"
    if name.endswith("_id"):
        return "str | None"
    if spec is None:
        return "Any"
    kind, fmt = spec.get("type"), spec.get("format")
    if fmt == "date" and name.endswith("_at"):
        fmt = "date-time"  # a Rails timestamp the facts mistype (see facts/README.md)
    types: dict[tuple[str | None, str | None], str] = {
        ("string", "date"): "date",
        ("string", "date-time"): "datetime",
        ("string", None): "str",
        ("integer", "int32"): "int",
        ("integer", None): "int",
        ("number", "float"): "float",
        ("number", None): "float",
        ("boolean", None): "bool",
        ("object", None): "dict[str, Any]",
    }
    base = types.get((kind, fmt))
    if kind == "array":
        item = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}
        base = f"list[{item.get(str(spec.get('items')), 'Any')}]"
    return f"{base} | None" if base else "Any"


def filter_kind(key: str, name: str, spec: dict[str, Any]) -> str:
    """How a filter is written on the wire (a `Kind` member name)."""
    override = quirks.FILTER_KINDS.get(key, {}).get(name)
    if override:
        return override
    kind, fmt = spec.get("type"), spec.get("format")
    if kind == "boolean":
        return "BOOL"
    if kind == "integer":
        return "INT" if re.search(r"(^|_)(count|depth)(_|$)", name) else "ID"
    if kind == "array":
        return "IDS" if spec.get("items") == "integer" or name.endswith("_ids") else "STRS"
    if fmt == "date-time":
        return "DATETIME"
    if fmt == "date":
        return "DATE"
    if name.endswith("_ids"):
        return "IDS"
    return "STR"


def body_kind(spec: dict[str, Any]) -> str:
    """How a write-body field is checked and sent (see `kantata_async._query.BodyKind`)."""
    kind, fmt = spec.get("type"), spec.get("format")
    if kind == "string":
        return {"date": "DATE", "date-time": "DATETIME"}.get(fmt or "", "STR")
    return {
        "integer": "INT",
        "number": "FLOAT",
        "boolean": "BOOL",
        "object": "OBJECT",
        "array": "LIST",
    }.get(str(kind), "ANY")


def _segments(path: str, base: tuple[str, ...]) -> tuple[str, ...]:
    parts = tuple(p for p in path.strip("/").split("/") if p)
    return parts[len(base) :]


def collections(tags: dict[str, dict[str, Any]]) -> dict[str, Collection]:
    """Every list collection (and every sideload-only type with a schema), by key."""
    found = _found(tags)
    for (key, name), (inverse_of, weak) in quirks.INVERSES.items():
        coll = found[key]
        rel = next((r for r in coll.relations if r.name == name), None)
        if rel is None:
            rel = Relation(name=name, target=name, field=None, many=True)
            coll.relations.append(rel)
        rel.inverse_of, rel.weak = inverse_of, weak
    return found


def _found(tags: dict[str, dict[str, Any]]) -> dict[str, Collection]:
    found: dict[str, Collection] = {}
    for tag, facts in tags.items():
        lists = [op for op in facts["operations"] if op["kind"] == "list"]
        if lists:
            coll = _collection(tag, facts, lists[0])
            found[coll.key] = coll
    for tag, facts in tags.items():
        for op in facts["operations"]:
            for inc in (op.get("include") or {}).values():
                target = inc.get("target_key")
                if inc.get("polymorphic") or not target or target in found:
                    continue
                # Include schemas written `A::B` are the schema named `A__B`.
                schema = facts.get("schemas", {}).get(str(inc.get("schema")).replace("::", "__"))
                if schema is None:
                    continue
                found[target] = Collection(
                    key=target,
                    tag=tag,
                    model=quirks.MODEL_NAMES.get(target) or class_name(inc["schema"]),
                    path=(),
                    path_params=[],
                    fields=_fields(target, schema),
                    relations=[],
                    listable=False,
                )
    return found


def _fields(key: str, schema: dict[str, Any] | None) -> dict[str, str]:
    fields = {"id": "str"}
    for name, spec in (schema or {}).get("fields", {}).items():
        fields[name] = annotation(name, spec)
    fields.update(quirks.EXTRA_FIELDS.get(key, {}))
    return fields


def _collection(tag: str, facts: dict[str, Any], listing: dict[str, Any]) -> Collection:
    key = listing.get("returns_key") or tag.replace("-", "_")
    path = tuple(p for p in listing["path"].strip("/").split("/") if p)
    schema_name = (listing.get("response_keys") or {}).get(key)
    schema = facts.get("schemas", {}).get(schema_name)
    # A list that answers no envelope has no record type: its resource answers raw JSON.
    model = quirks.MODEL_NAMES.get(key) or (class_name(schema_name) if schema_name else "")
    coll = Collection(
        key=key,
        tag=tag,
        model=model,
        path=path,
        path_params=[Param(py_name(n), n, "ID", True) for n in (listing.get("path_params") or {})],
        fields=_fields(key, schema),
        relations=[],
        raw=not listing.get("returns_key"),
    )
    coll.filters = [
        Param(py_name(name), name, filter_kind(key, name, spec))
        for name, spec in sorted((listing.get("query") or {}).items())
        if name not in READ_PARAMS
    ]
    coll.optional_fields = list(listing.get("optional_fields") or [])
    default = listing.get("order_default")
    orders = list(listing.get("order") or [])
    coll.orders = ([default] if default in orders else []) + [o for o in orders if o != default]
    includes: dict[str, dict[str, Any]] = {}
    for op in facts["operations"]:
        rest = _segments(op["path"], path)
        if op["kind"] in ("list", "show") and op["path"].startswith(listing["path"]):
            includes.update(op.get("include") or {})
        if op["kind"] == "show" and rest == ("{id}",):
            coll.show = True
        elif op["kind"] == "create" and rest == () and op.get("body"):
            coll.create = _body(op["body"])
            coll.wrapper = op["body"].get("wrapper", "")
        elif op["kind"] == "update" and rest == ("{id}",) and op.get("body"):
            coll.update = _body(op["body"])
            coll.wrapper = coll.wrapper or op["body"].get("wrapper", "")
        elif op["kind"] == "delete" and rest == ("{id}",):
            coll.delete = True
        elif op["kind"] == "delete" and rest == () and "ids" in (op.get("query") or {}):
            coll.delete_many = True
        elif op["kind"] == "action" and op["path"].startswith(listing["path"] + "/"):
            coll.actions.append(_action(op, rest))
    if schema is None and not coll.raw:
        # No record schema (exchange tables): the fields the writes take in their query.
        for op in facts["operations"]:
            if op["kind"] in ("create", "update") and op.get("returns_key") == key:
                for name, spec in (op.get("query") or {}).items():
                    coll.fields.setdefault(name, annotation(name, spec))
    coll.includes = sorted(includes)
    for name, inc in sorted(includes.items()):
        coll.relations.append(
            Relation(
                name=name,
                target=None if inc.get("polymorphic") else inc.get("target_key"),
                field=inc["field"],
                many=bool(inc.get("many")),
            )
        )
        if inc["field"] not in coll.fields:
            coll.fields[inc["field"]] = annotation(inc["field"], None)
    return coll


def _body(body: dict[str, Any]) -> list[Param]:
    required = set(body.get("required") or ())
    return [
        Param(py_name(name), name, body_kind(spec), name in required)
        for name, spec in body.get("fields", {}).items()
    ]


def _action(op: dict[str, Any], rest: tuple[str, ...]) -> Action:
    words = [p for p in rest if not p.startswith("{")]
    body = op.get("body") or {}
    return Action(
        name=py_name("_".join(words) or op["operation_id"].lower()),
        operation_id=op["operation_id"],
        method=op["method"],
        segments=rest,
        returns=op.get("returns_key"),
        body_wrapper=body.get("wrapper"),
        body=_body(body) if body else [],
        optional_fields=bool(op.get("optional_fields")),
    )
