"""What every resource shares: sending a request and feeding the answer to the graph."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from .._errors import PayloadError, ResponseValidationError
from .._pagination import ListRequest, Page, page_from_envelope
from .._query import Kind, check_choice, check_id, check_names, check_per_page, encode_params
from .._transport import Body
from ..models import Model
from ._nested import IncludeTree, load_nested, parse_includes

if TYPE_CHECKING:
    from .._client import KantataClient

M = TypeVar("M", bound=Model)

__all__ = ["Resource"]


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
        params.update(encode_params(spec, filters))
        return self._list(params, per_page, tree)

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
    ) -> Any:
        transport = self._client._transport_for_call()
        return await transport.request(method, path, params=params, body=body)

    async def _one(
        self,
        method: str,
        path: tuple[str, ...],
        *,
        params: Mapping[str, str] | None = None,
        body: Body = None,
        tree: IncludeTree | None = None,
    ) -> M:
        payload = await self._call(method, path, params=params, body=body)
        records = self._merge(method, path, payload)
        if not records:
            raise ResponseValidationError(
                "the response names no record in 'results'",
                method=method,
                path="/".join(path),
                status=200,
            )
        if tree:
            await load_nested(self._client, self.path, records, tree)
        return records[0]

    def _merge(self, method: str, path: tuple[str, ...], payload: Any) -> list[M]:
        try:
            return cast("list[M]", self._client.graph.merge(payload))
        except PayloadError as err:
            raise ResponseValidationError(
                str(err), method=method, path="/".join(path), status=200
            ) from err

    def _list(
        self, params: dict[str, str], per_page: int | None, tree: IncludeTree
    ) -> ListRequest[M]:
        size = check_per_page(per_page) if per_page is not None else None

        async def request(page: int) -> Any:
            query = dict(params, page=str(page))
            if size is not None:
                query["per_page"] = str(size)
            payload = await self._call("GET", (self.path,), params=query)
            if not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
                raise ResponseValidationError(
                    "a list page must be a JSON object with a 'results' list",
                    method="GET",
                    path=self.path,
                    status=200,
                )
            return payload

        async def build(page: int, payload: Any) -> Page[M]:
            items = self._merge("GET", (self.path,), payload)
            if tree and items:
                # The deeper levels arrive before the page does: its records come linked.
                await load_nested(self._client, self.path, items, tree)
            return page_from_envelope(payload, items, page, size or 20, listing._fetch)

        listing = ListRequest(request, build, concurrency=self._client.max_concurrency)
        return listing

    def _write_body(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """`{"user": {...}}` holding only the fields the caller passed."""
        values = {k: v for k, v in fields.items() if v is not None}
        if not values:
            raise ValueError(f"nothing to send: pass at least one {self.singular} field")
        return {self.singular: values}
