"""Routing: which documented operation a request is, and which handler (if any) serves it.

Every operation in the facts is a route. A route of a declared collection with a handler is
served; any other documented route answers 501 (the fake does not model it); anything else is
Rails' 404 "No route matches". As in Rails, HEAD is routed as GET (and answered without a
body), and PATCH reaches the `update` routes that PUT does (`resources` routes both).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from . import _facts
from ._collections import COLLECTIONS
from ._declare import owner
from ._schema import Collection
from ._wire import ApiError

__all__ = ["API_PREFIX", "Resolved", "resolve"]

API_PREFIX = "/api/v1/"


@dataclass(frozen=True)
class Resolved:
    """A routed request: its collection, the handler's name, the record the path names (its
    `{id}`, or its one parameter after the collection's route: the `{role_id}` of a rate
    card row) and the path's parameters (`rate_card_set_version_id`)."""

    collection: Collection
    handler: str
    operation: _facts.Operation
    record_id: str
    path_values: dict[str, str] = field(default_factory=dict)


@functools.cache
def _by_path() -> dict[str, Collection]:
    """The declared collections by their list route."""
    return {c.path: c for c in COLLECTIONS.values() if c.routes}


@dataclass(frozen=True)
class _Template:
    segments: tuple[str, ...]
    operation: _facts.Operation

    def match(self, parts: list[str]) -> dict[str, str] | None:
        if len(parts) != len(self.segments):
            return None
        found: dict[str, str] = {}
        for segment, part in zip(self.segments, parts, strict=True):
            if segment.startswith("{"):
                found[segment.strip("{}")] = part
            elif segment != part:
                return None
        return found

    @property
    def literals(self) -> int:
        return sum(not s.startswith("{") for s in self.segments)


@functools.cache
def _templates() -> dict[tuple[str, str], list[_Template]]:
    """(first segment, method) -> the documented path templates, most literal first."""
    table: dict[tuple[str, str], list[_Template]] = {}
    for op in _facts.operations():
        segments = tuple(op.path.strip("/").split("/"))
        table.setdefault((segments[0], op.method), []).append(_Template(segments, op))
    for templates in table.values():
        # As Rails matches `users/me` before `users/:id`: the more literal route first.
        templates.sort(key=lambda t: -t.literals)
    return table


def _find(method: str, parts: list[str]) -> tuple[_facts.Operation, dict[str, str]] | None:
    for template in _templates().get((parts[0], method), []):
        found = template.match(parts)
        if found is not None:
            return template.operation, found
    return None


def no_route(method: str, path: str) -> ApiError:
    """Rails' 404 for a path no route matches."""
    where = path if path.startswith("/") else API_PREFIX + path
    return ApiError.system(404, f'No route matches [{method}] "{where}"')


def resolve(method: str, path: str) -> Resolved:
    """The route of `method` on `path` (relative to the API, without `.json`).

    Raises `ApiError`: 404 when no documented route matches, 501 when the route is
    documented and the fake does not serve it.
    """
    parts = path.split("/")
    routed = "GET" if method == "HEAD" else method
    found = _find(routed, parts)
    if found is None and method == "PATCH":
        put = _find("PUT", parts)
        if put is not None and put[0].kind == "update":
            found = put
    if found is None:
        raise no_route(method, path)
    operation, values = found
    base = owner(operation.path)
    collection = _by_path().get(base)
    shape = operation.path.strip("/")[len(base) :].strip("/")
    route = None if collection is None else collection.routes.get((operation.method, shape))
    if collection is None or route is None or route.handler is None:
        raise ApiError.system(
            501, f"FakeKantata does not model {operation.method} {operation.path}"
        )
    own = shape.partition("/")[0]
    record_id = values.get("id") or (values.get(own.strip("{}"), "") if own.startswith("{") else "")
    return Resolved(collection, route.handler, operation, record_id, values)
