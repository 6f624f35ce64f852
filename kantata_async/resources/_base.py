"""What every resource shares: sending a request and feeding the answer to the graph."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from .._errors import PayloadError, ResponseValidationError
from .._graph import Ticket
from .._pagination import Fetched, ListRequest, Page, page_from_envelope
from .._query import (
    MAX_PER_PAGE,
    Kind,
    check_choice,
    check_id,
    check_names,
    check_per_page,
    chunks,
    encode_params,
)
from .._transport import Body
from ..models import Model
from ..models._base import record_class
from ._nested import IncludeTree, load_nested, parse_includes

if TYPE_CHECKING:
    from .._client import KantataClient

M = TypeVar("M", bound=Model)
T = TypeVar("T")

__all__ = ["Resource"]

_READS = frozenset({"GET", "HEAD"})


class Resource(Generic[M]):
    """Base of `client.users`, `client.workweek_memberships`: thin request builders."""

    path: str  # the collection's path and top-level key, e.g. "users"
    singular: str  # the wrapper key of write bodies, e.g. "user"
    includes: frozenset[str]  # what the server's `include=` takes here
    optional_fields: frozenset[str] = frozenset()
    orders: tuple[str, ...] = ()

    def __init__(self, client: KantataClient) -> None:
        self._client = client

    # -- building -----------------------------------------------------------------------

    def _read_params(
        self,
        include: Sequence[str] | None,
        optional_fields: Sequence[str] | None = None,
    ) -> tuple[dict[str, str], IncludeTree]:
        """Query parameters for a read, and the nested include levels the SDK resolves."""
        params = {}
        tree: IncludeTree = {}
        if include is not None:
            first, tree = parse_includes(self.path, self.includes, include)
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
        spec: Mapping[str, Kind],
        filters: Mapping[str, Any],
        include: Sequence[str] | None,
        optional_fields: Sequence[str] | None,
        order: str | None,
        per_page: int | None,
    ) -> ListRequest[M]:
        """A list over this collection, with every parameter checked now."""
        params, tree = self._read_params(include, optional_fields)
        if order is not None:
            params["order"] = check_choice(order, "order", self.orders)
        elif self.orders:
            # Pin the order for the walk, so concurrent pages see one stable sequence.
            params["order"] = self.orders[0]
        given = {k: v for k, v in filters.items() if v is not None}
        params.update(encode_params(spec, given))
        return self._list(params, per_page, tree, on_complete=self._completion(given))

    def _completion(self, filters: Mapping[str, Any]) -> Callable[[], None] | None:
        """For a list filtered only by its own foreign key (`user_ids=[...]` of memberships):
        what marks the inverse relations of those records complete once the walk ends."""
        if len(filters) != 1:
            return None
        [(name, value)] = filters.items()
        found = [
            (rel.target, inverse)
            for rel in self._model_relations().values()
            if not rel.many
            and name == f"{rel.field}s"
            and (inverse := rel.feeds.get(rel.target or "")) is not None
        ]
        if not found:
            return None
        [(target, inverse)] = found
        graph, ids = self._client.graph, [str(v) for v in value]

        def complete() -> None:
            for id_ in ids:
                obj = graph.get(target, id_)
                if obj is not None:
                    graph.mark_loaded(obj, inverse.name)

        return complete

    def _model_relations(self) -> Mapping[str, Any]:
        return record_class(self.path).__kantata_relations__

    async def _read_one(
        self,
        path: tuple[str, ...],
        include: Sequence[str] | None,
        optional_fields: Sequence[str] | None = None,
    ) -> M:
        params, tree = self._read_params(include, optional_fields)
        return await self._one("GET", path, params=params, tree=tree)

    @staticmethod
    def _id(value: str | int, name: str = "id") -> str:
        return check_id(value, name)

    # -- sending ------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: tuple[str, ...],
        *,
        params: Mapping[str, str] | None = None,
        body: Body = None,
        on_send: Callable[[], object] | None = None,
    ) -> Any:
        transport = self._client._transport_for_call()
        if method in _READS:
            return await transport.request(method, path, params=params, body=body, on_send=on_send)
        # A read asked for after a write is sent (or answered) must not share a request sent
        # before it: it would return what the server held before the write.
        reads = self._client._reads
        reads.forget()
        try:
            return await transport.request(method, path, params=params, body=body, on_send=on_send)
        finally:
            reads.forget()

    async def _call_stamped(
        self,
        method: str,
        path: tuple[str, ...],
        *,
        params: Mapping[str, str] | None = None,
        body: Body = None,
    ) -> tuple[Any, Ticket]:
        """`_call`, and the graph's ticket for the answer: taken as the (last) attempt went
        out, after any wait for a slot, a pause or pacing, so that the graph orders the
        answer by when the server was asked."""
        graph = self._client.graph
        sent: list[Ticket] = []
        payload = await self._call(
            method, path, params=params, body=body, on_send=lambda: sent.append(graph.ticket())
        )
        return payload, sent[-1]

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
        key = (kind, path, tuple(sorted(params.items())))
        return await self._client._reads.run(key, work)

    async def _one(
        self,
        method: str,
        path: tuple[str, ...],
        *,
        params: Mapping[str, str] | None = None,
        body: Body = None,
        tree: IncludeTree | None = None,
    ) -> M:
        async def fetch() -> list[M]:
            payload, sent = await self._call_stamped(method, path, params=params, body=body)
            records = self._merge(method, path, payload, sent=sent)
            if not records:
                raise ResponseValidationError(
                    "the response names no record in 'results'",
                    method=method,
                    path="/".join(path),
                    status=200,
                )
            return records

        if method == "GET" and body is None:
            records = await self._shared_get("one", path, params or {}, fetch)
        else:
            records = await fetch()
        if tree:
            await load_nested(self._client, self.path, records, tree)
        return records[0]

    def _merge(
        self, method: str, path: tuple[str, ...], payload: Any, *, sent: Ticket | None
    ) -> list[M]:
        """Merge an answer whose primary records must be this collection's."""
        where = "/".join(path)
        try:
            results = payload.get("results") if isinstance(payload, dict) else None
            if isinstance(results, list):
                keys = {e.get("key") for e in results if isinstance(e, dict)}
                if keys - {self.path}:
                    raise PayloadError(
                        f"expected {self.path} records, but 'results' names "
                        + ", ".join(sorted(map(str, keys - {self.path})))
                    )
            write = method not in _READS
            return cast("list[M]", self._client.graph.merge(payload, sent=sent, write=write))
        except PayloadError as err:
            raise ResponseValidationError(str(err), method=method, path=where, status=200) from err

    def _list(
        self,
        params: dict[str, str],
        per_page: int | None,
        tree: IncludeTree,
        *,
        on_complete: Callable[[], None] | None = None,
    ) -> ListRequest[M]:
        """The pages of `GET /<path>` with `params`: walked by page, or by id chunks.

        Kantata does not paginate a list by ids (`only=`): every page number answers every
        match. So such a list is one request per 200 ids, never a page walk.
        """
        size = check_per_page(per_page) if per_page is not None else None
        by_ids = chunks(params.pop("only").split(",")) if "only" in params else None

        async def request(page: int) -> Fetched:
            if by_ids is not None:
                query = dict(params, only=",".join(by_ids[page - 1]), per_page=str(MAX_PER_PAGE))
            else:
                query = dict(params, page=str(page))
                if size is not None:
                    query["per_page"] = str(size)

            async def fetch() -> Fetched:
                payload, sent = await self._call_stamped("GET", (self.path,), params=query)
                if not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
                    raise ResponseValidationError(
                        "a list page must be a JSON object with a 'results' list",
                        method="GET",
                        path=self.path,
                        status=200,
                    )
                return Fetched(payload, sent)

            # Walks of the same list share a page in flight, and merge it once (`Fetched`).
            return await self._shared_get("page", (self.path,), query, fetch)

        def merge(payload: Any, sent: Any) -> list[M]:
            return self._merge("GET", (self.path,), payload, sent=sent)

        async def build(page: int, fetched: Fetched) -> Page[M]:
            items = fetched.merged(merge)
            if by_ids is not None:
                self._check_asked(items, by_ids[page - 1])
            if tree and items:
                # The deeper levels arrive before the page does: its records come linked.
                missing = await load_nested(self._client, self.path, items, tree)
                listing.stats.unresolved += missing
            chunk_count = len(by_ids) if by_ids is not None else None
            return page_from_envelope(
                fetched.payload, items, page, size or 20, listing._fetch, chunks=chunk_count
            )

        listing = ListRequest(
            request,
            build,
            concurrency=self._client.max_concurrency,
            pages=len(by_ids) if by_ids is not None else None,
            on_complete=on_complete,
        )
        return listing

    def _check_asked(self, items: Sequence[Model], asked: Sequence[str]) -> None:
        """A list by ids must answer only records it asked for (else `only` was ignored)."""
        wanted = set(asked)
        stray = [obj.__dict__["id"] for obj in items if obj.__dict__["id"] not in wanted]
        if stray:
            raise ResponseValidationError(
                f"asked for {len(wanted)} ids with only=, the answer holds others "
                f"({', '.join(stray[:5])}{', ...' if len(stray) > 5 else ''}): the server "
                "seems to ignore only=",
                method="GET",
                path=self.path,
                status=200,
            )

    def _write_body(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """`{"user": {...}}` holding only the fields the caller passed."""
        values = {k: v for k, v in fields.items() if v is not None}
        if not values:
            raise ValueError(f"nothing to send: pass at least one {self.singular} field")
        return {self.singular: values}
