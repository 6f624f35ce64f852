"""The facts about Kantata's API that ship in `kantata_async/testing/facts/`, read as objects.

One JSON file per tag of Kantata's API description (see `facts/README.md`). The fake server
reads its routes, filters, includes, optional fields and orders from here; the SDK keeps its
own tables, so that the fake stays an independent check on the SDK.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

__all__ = [
    "FieldFact",
    "IncludeFact",
    "Operation",
    "TagFacts",
    "operations",
    "tag",
    "tag_names",
]


@dataclass(frozen=True)
class FieldFact:
    """A parameter or a record field: its JSON type and, when documented, format and default."""

    type: str
    format: str | None = None
    items: str | None = None
    enum: tuple[Any, ...] = ()  # strings, or numbers for an integer field
    default: Any = None
    nullable: bool = False
    required: bool = False

    @classmethod
    def read(cls, raw: Mapping[str, Any]) -> FieldFact:
        """A field object of the facts files."""
        items = raw.get("items")
        return cls(
            type=str(raw.get("type", "string")),
            format=raw.get("format"),
            items=items if isinstance(items, str) else None,
            enum=tuple(raw.get("enum") or ()),
            default=raw.get("default"),
            nullable=bool(raw.get("nullable")),
            required=bool(raw.get("required")),
        )


@dataclass(frozen=True)
class IncludeFact:
    """`include=<name>`: the ids travel in `field` and the records under `target_key`."""

    name: str
    target_key: str
    field: str
    many: bool
    polymorphic: bool = False


@dataclass(frozen=True)
class Operation:
    """One documented operation (`GET /users`, `PUT /workweek_memberships/{id}`, ...)."""

    method: str
    path: str
    kind: str
    operation_id: str
    returns_key: str | None
    query: Mapping[str, FieldFact] = field(default_factory=dict)
    include: Mapping[str, IncludeFact] = field(default_factory=dict)
    optional_fields: tuple[str, ...] = ()
    order: tuple[str, ...] = ()
    order_default: str | None = None
    body_wrapper: str | None = None
    success_status: int = 200
    response_keys: Mapping[str, str] = field(default_factory=dict)
    response_schema: str | None = None
    path_params: tuple[str, ...] = ()
    body_fields: Mapping[str, FieldFact] = field(default_factory=dict)
    body_required: tuple[str, ...] = ()

    @property
    def collection(self) -> str:
        """The first path segment: the collection the operation belongs to."""
        return self.path.strip("/").partition("/")[0]

    @property
    def shape(self) -> str:
        """The path after the collection: "", "{id}", "me", "{id}/capacity", ..."""
        return self.path.strip("/").partition("/")[2]


@dataclass(frozen=True)
class TagFacts:
    """Everything one facts file holds."""

    name: str
    operations: tuple[Operation, ...]
    schemas: Mapping[str, Mapping[str, FieldFact]]

    def operation(self, method: str, path: str) -> Operation:
        """The operation for `method` and `path`; KeyError when the tag does not document it."""
        for op in self.operations:
            if op.method == method and op.path == path:
                return op
        raise KeyError(f"the {self.name} facts document no {method} {path}")


def _operation(raw: Mapping[str, Any]) -> Operation:
    includes = {
        name: IncludeFact(
            name=name,
            target_key=str(inc.get("target_key") or ""),
            field=str(inc["field"]),
            many=bool(inc.get("many")),
            polymorphic=bool(inc.get("polymorphic")) or not inc.get("target_key"),
        )
        for name, inc in (raw.get("include") or {}).items()
    }
    body = raw.get("body") or {}
    return Operation(
        method=str(raw["method"]),
        path=str(raw["path"]),
        kind=str(raw["kind"]),
        operation_id=str(raw["operation_id"]),
        returns_key=raw.get("returns_key"),
        query={name: FieldFact.read(p) for name, p in (raw.get("query") or {}).items()},
        include=includes,
        optional_fields=tuple(raw.get("optional_fields") or ()),
        order=tuple(raw.get("order") or ()),
        order_default=raw.get("order_default"),
        body_wrapper=body.get("wrapper"),
        success_status=int(raw.get("success_status", 200)),
        response_keys=dict(raw.get("response_keys") or {}),
        response_schema=raw.get("response_schema"),
        path_params=tuple(raw.get("path_params") or ()),
        body_fields={name: FieldFact.read(f) for name, f in (body.get("fields") or {}).items()},
        body_required=tuple(body.get("required") or ()),
    )


def _files() -> Any:
    return resources.files("kantata_async.testing").joinpath("facts")


@functools.cache
def tag_names() -> tuple[str, ...]:
    """The tags with a facts file, sorted (`account-memberships`, ..., `workweeks`)."""
    names = (entry.name for entry in _files().iterdir() if entry.name.endswith(".json"))
    return tuple(sorted(name.removesuffix(".json") for name in names))


@functools.cache
def tag(name: str) -> TagFacts:
    """The facts of one tag (`users`, `workweek-memberships`, ...)."""
    raw = json.loads(_files().joinpath(f"{name}.json").read_text(encoding="utf-8"))
    schemas = {
        schema: {fname: FieldFact.read(f) for fname, f in body.get("fields", {}).items()}
        for schema, body in (raw.get("schemas") or {}).items()
    }
    ops = tuple(_operation(op) for op in raw.get("operations", ()))
    return TagFacts(name=name, operations=ops, schemas=schemas)


def operations() -> Iterator[Operation]:
    """Every documented operation of every tag."""
    for name in tag_names():
        yield from tag(name).operations
