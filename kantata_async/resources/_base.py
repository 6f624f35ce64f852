"""What every resource shares: turning arguments into requests and answers into the graph.

A resource (generated per collection, see `kantata_async._generated`) is a table of facts
(`key`, `path`, `includes`, `filters`, ...) and thin methods that call the helpers here.
It talks to its client only through `ClientAPI`. Hand-written subclasses add quirks through
three hooks: `_check_filters`, `_check_write` and `_after_write`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar, Generic, Self, TypeVar, cast

from .._errors import PayloadError, ResponseValidationError
from .._graph import Ticket
from .._models.base import Model
from .._options import Timeout
from .._pagination import ListRequest
from .._query import (
    Kind,
    WriteBody,
    check_choice,
    check_id,
    check_names,
    encode_body,
    encode_params,
)
from .._secret import invalid_answer
from .._transport import Body
from ._api import ClientAPI
from ._listing import completion, list_pages
from ._nested import IncludeTree, load_nested, parse_includes
from ._registry import RESOURCES

M = TypeVar("M", bound=Model)
T = TypeVar("T")

__all__ = ["ClientAPI", "Resource"]

_READS = frozenset({"GET", "HEAD"})


def _operation(method: str, segments: tuple[str, ...]) -> str:
    """What a write under a collection's path is, as the hooks name it: `create` (a POST to
    the collection), `update` (a PUT to a record), else the action's words (`approve`)."""
    words = "_".join(s for s in segments if not s.isdigit())
    if words:
        return words
    return {"POST": "create", "PUT": "update", "DELETE": "delete"}.get(method, method.lower())


class Resource(Generic[M]):
    """Base of every `client.<key>`: thin request builders over the facts of one collection."""

    key: ClassVar[str]  # the top-level key of its records, e.g. "time_entries"
    path: ClassVar[tuple[str, ...]]  # its path segments ("{name}" for a path parameter)
    model: ClassVar[type[Model]]
    includes: ClassVar[frozenset[str]] = frozenset()  # what the server's `include=` takes
    optional_fields: ClassVar[frozenset[str]] = frozenset()
    orders: ClassVar[tuple[str, ...]] = ()  # the default first
    filters: ClassVar[Mapping[str, Kind]] = {}
    wire_names: ClassVar[Mapping[str, str]] = {}  # Python name -> wire name, where they differ

    def __init__(self, api: ClientAPI) -> None:
        self._api = api

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        key = cls.__dict__.get("key")
        if isinstance(key, str):
            RESOURCES.setdefault(key, cls)  # the generated class; quirk subclasses set no key

    # -- hooks for hand-written subclasses ----------------------------------------------

    def _check_filters(self, filters: Mapping[str, Any]) -> None:
        """Raise `ValueError` for filters the API refuses together (before any request)."""

    def _check_write(self, operation: str, fields: Mapping[str, Any]) -> None:
        """Raise `ValueError` for write fields the API would refuse (before any request)."""

    async def _after_write(
        self, operation: str, record: M | None, fields: Mapping[str, Any]
    ) -> None:
        """Bring what a write (of `fields`) changed besides `record` up to date (`record` is
        None after a delete of a record the graph did not hold)."""

    # -- building -----------------------------------------------------------------------

    def _with(
        self,
        timeout: Timeout | float | None,
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, str] | None,
    ) -> Self:
        """This resource, sending with one call's options (itself when none is given)."""
        if timeout is None and extra_headers is None and extra_query is None:
            return self
        api = self._api.with_options(
            timeout=timeout, extra_headers=extra_headers, extra_query=extra_query
        )
        return type(self)(api)

    @staticmethod
    def _id(value: str | int, name: str = "id") -> str:
        return check_id(value, name)

    def _path(self, **params: str | int) -> tuple[str, ...]:
        """`path` with its `{name}` segments filled with checked ids."""
        return tuple(
            self._id(params[s[1:-1]], s[1:-1]) if s.startswith("{") else s for s in self.path
        )

    def _read_params(
        self,
        include: Sequence[str] | None,
        optional_fields: Sequence[str] | None = None,
        key: str | None = None,
    ) -> tuple[dict[str, str], IncludeTree]:
        """Query parameters for a read, and the nested include levels the SDK resolves."""
        params = {}
        tree: IncludeTree = {}
        if include is not None:
            first, tree = parse_includes(key or self.key, include)
            if first:
                params["include"] = ",".join(first)
        if optional_fields:
            fields = check_names(optional_fields, "optional_fields", self.optional_fields)
            params["optional_fields"] = ",".join(fields)
        return params, tree

    def _write_params(
        self,
        held: Sequence[Model],
        include: Sequence[str] | None,
        optional_fields: Sequence[str] | None = None,
    ) -> tuple[dict[str, str], IncludeTree]:
        """Query parameters for a write: `include` plus the relations `held` objects have loaded.

        A write changes the record, and often what it links to (a membership's minutes are
        its workweek's): asking for the relations already loaded brings them back fresh,
        so an object held before the write does not read stale values through them.
        """
        wanted = list(include or ())
        for obj in held:
            for rel in type(obj).__kantata_relations__.values():
                name = rel.include
                if name in self.includes and rel.name in obj._links and name not in wanted:
                    wanted.append(name)
        return self._read_params(wanted if wanted else include, optional_fields)

    def _list_request(
        self,
        filters: Mapping[str, Any],
        include: Sequence[str] | None,
        optional_fields: Sequence[str] | None,
        order: str | None,
        per_page: int | None,
        only: Sequence[str | int] | None = None,
        *,
        path: tuple[str, ...] | None = None,
    ) -> ListRequest[M]:
        """A list over this collection, with every parameter checked now."""
        params, tree = self._read_params(include, optional_fields)
        if order is not None:
            params["order"] = check_choice(order, "order", self.orders)
        elif self.orders:
            # Pin the order for the walk, so concurrent pages see one stable sequence.
            params["order"] = self.orders[0]
        given = {k: v for k, v in filters.items() if v is not None}
        self._check_filters(given)
        params.update(encode_params(self.filters, given, self.wire_names))
        if only is not None:
            params["only"] = encode_params({"only": Kind.IDS}, {"only": only})["only"]
        complete = completion(self, given)
        return list_pages(self, params, per_page, tree, path or self.path, complete)

    # -- sending ------------------------------------------------------------------------

    async def _shared_get(
        self,
        kind: str,
        path: tuple[str, ...],
        params: Mapping[str, str],
        work: Callable[[], Awaitable[T]],
    ) -> T:
        """`work()` (which sends `GET path?params`), shared with identical calls in flight.

        `kind` names what `work` returns, so that only calls expecting the same thing share.
        """
        return await self._api.shared((kind, path, tuple(sorted(params.items()))), work)

    async def _one(
        self,
        method: str,
        path: tuple[str, ...],
        *,
        params: Mapping[str, str] | None = None,
        body: Body = None,
        tree: IncludeTree | None = None,
        expect: str | None = None,
    ) -> Any:
        """One request answered by an envelope naming (at least) one record of `expect`."""
        key = expect or self.key

        async def fetch() -> list[M]:
            payload, sent = await self._api.request_stamped(method, path, params=params, body=body)
            records = self._merge(method, path, payload, sent=sent, expect=key)
            if not records:
                raise ResponseValidationError(
                    "the response names no record in 'results'",
                    method=method,
                    path="/".join(path),
                    status=200,
                )
            return records

        if method == "GET" and body is None:
            # Identical reads in flight (twenty requests for users/me) share one request.
            records = await self._shared_get(f"one {key}", path, params or {}, fetch)
        else:
            records = await fetch()
        if tree:
            await load_nested(self._api, key, records, tree)
        return records[0]

    def _merge(
        self,
        method: str,
        path: tuple[str, ...],
        payload: Any,
        *,
        sent: Ticket | None,
        expect: str | None = None,
    ) -> list[M]:
        """Merge an answer whose primary records must be under `expect` (this collection's)."""
        key = expect or self.key
        try:
            results = payload.get("results") if isinstance(payload, dict) else None
            if isinstance(results, list):
                keys = {e.get("key") for e in results if isinstance(e, dict)}
                if keys - {key}:
                    raise PayloadError(
                        f"expected {key} records, but 'results' names "
                        + ", ".join(sorted(map(str, keys - {key})))
                    )
            write = method not in _READS
            return cast("list[M]", self._api.graph.merge(payload, sent=sent, write=write))
        except PayloadError as err:
            # The message may quote the answer, and a server may echo the token in it.
            invalid_answer(err, self._api.redact, method=method, path="/".join(path))

    async def _read_one(
        self,
        path: tuple[str, ...],
        include: Sequence[str] | None,
        optional_fields: Sequence[str] | None = None,
    ) -> M:
        params, tree = self._read_params(include, optional_fields)
        return cast(M, await self._one("GET", path, params=params, tree=tree))

    async def _get(
        self, id: str | int, include: Sequence[str] | None, optional_fields: Sequence[str] | None
    ) -> M:
        return await self._read_one((*self.path, self._id(id)), include, optional_fields)

    async def _create(
        self, spec: WriteBody, fields: Mapping[str, Any], include: Sequence[str] | None
    ) -> M:
        return await self._act_record("POST", (), spec, fields, include)

    async def _update(
        self,
        id: str | int,
        spec: WriteBody,
        fields: Mapping[str, Any],
        include: Sequence[str] | None,
    ) -> M:
        rid = self._id(id)
        return await self._act_record("PUT", (rid,), spec, fields, include)

    async def _act_record(
        self,
        method: str,
        segments: tuple[str, ...],
        spec: WriteBody | None,
        fields: Mapping[str, Any],
        include: Sequence[str] | None,
        *,
        optional_fields: Sequence[str] | None = None,
    ) -> M:
        """A request under this collection's path answered by one of its records."""
        operation = _operation(method, segments)
        record = cast(
            M, await self._act(method, segments, spec, fields, include, optional_fields, None)
        )
        if method not in _READS:
            await self._after_write(operation, record, fields)
        return record

    async def _act_other(
        self,
        method: str,
        segments: tuple[str, ...],
        spec: WriteBody | None,
        fields: Mapping[str, Any],
        include: Sequence[str] | None,
        *,
        expect: str,
        optional_fields: Sequence[str] | None = None,
    ) -> Model:
        """A request under this collection's path answered by a record of another key."""
        return cast(
            Model, await self._act(method, segments, spec, fields, include, optional_fields, expect)
        )

    async def _act(
        self,
        method: str,
        segments: tuple[str, ...],
        spec: WriteBody | None,
        fields: Mapping[str, Any],
        include: Sequence[str] | None,
        optional_fields: Sequence[str] | None,
        expect: str | None,
    ) -> Any:
        body = None
        if spec is not None:
            operation = _operation(method, segments)
            # An action whose every field is optional (`approve`) may be sent without a body;
            # a create or an update of nothing is a mistake.
            if fields or spec.required or operation in ("create", "update"):
                body = encode_body(spec, fields)
            self._check_write(operation, fields)
        rid = next((s for s in segments if s.isdigit()), None)
        held = self._api.graph.get(self.key, rid) if rid is not None and expect is None else None
        if method in _READS:
            params, tree = self._read_params(include, optional_fields, expect)
        else:
            params, tree = self._write_params([held] if held else [], include, optional_fields)
        path = (*self.path, *segments)
        return await self._one(method, path, params=params, body=body, tree=tree, expect=expect)

    async def _act_raw(
        self,
        method: str,
        segments: tuple[str, ...],
        spec: WriteBody | None,
        fields: Mapping[str, Any],
    ) -> Any:
        """A request under this collection's path whose answer is not an envelope: its JSON."""
        body = encode_body(spec, fields) if spec is not None else None
        return await self._api.request(method, (*self.path, *segments), body=body)

    async def _list_raw(
        self, filters: Mapping[str, Any], *, path: tuple[str, ...] | None = None
    ) -> Any:
        """`GET` of a list whose answer is not an envelope: its JSON."""
        given = {k: v for k, v in filters.items() if v is not None}
        params = encode_params(self.filters, given, self.wire_names)
        return await self._api.request("GET", path or self.path, params=params)

    async def _delete(self, id: str | int) -> None:
        rid = self._id(id)
        graph = self._api.graph
        held = cast("M | None", graph.get(self.key, rid))
        self._check_write("delete", {})
        await self._api.request("DELETE", (*self.path, rid))
        graph.forget(self.key, rid)
        await self._after_write("delete", held, {})

    async def _delete_many(self, ids: Sequence[str | int]) -> None:
        encoded = encode_params({"ids": Kind.IDS}, {"ids": ids})
        await self._api.request("DELETE", self.path, params=encoded)
        for rid in encoded["ids"].split(","):
            self._api.graph.forget(self.key, rid)

    async def _fetch_by_ids(self, ids: Sequence[str], include: Sequence[str]) -> list[M]:
        """One request for up to 200 ids, with one level of include, merged into the graph.

        It asks with `apply_default_filters=false` (Brainstem's switch, which Kantata's own
        client sends on these requests): the records are wanted because something links to
        them, so the filters that hide records from a plain list (disabled users, users who
        share no project with you) must not hide them here.
        """
        params = {"only": ",".join(ids), "per_page": "200", "apply_default_filters": "false"}
        if include:
            params["include"] = ",".join(include)

        async def fetch() -> list[M]:
            payload, sent = await self._api.request_stamped("GET", self.path, params=params)
            items = self._merge("GET", self.path, payload, sent=sent)
            self._check_asked(items, ids)
            return items

        # Two pages whose records link to the same ones ask for the same batch: one request.
        return list(await self._shared_get("by_ids", self.path, params, fetch))

    def _check_asked(self, items: Sequence[Model], asked: Sequence[str]) -> None:
        """A list by ids must answer only records it asked for (else `only` was ignored)."""
        wanted = set(asked)
        stray = [obj.__dict__["id"] for obj in items if obj.__dict__["id"] not in wanted]
        if stray:
            raise ResponseValidationError(
                self._api.redact(
                    f"asked for {len(wanted)} ids with only=, the answer holds others "
                    f"({', '.join(stray[:5])}{', ...' if len(stray) > 5 else ''}): the server "
                    "seems to ignore only="
                ),
                method="GET",
                path="/".join(self.path),
                status=200,
            )
