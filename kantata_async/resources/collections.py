"""Read-only access to the types the seed endpoints sideload.

`client.account_memberships`, `client.skill_memberships`, `client.skills`, `client.roles`,
`client.workweeks`, `client.custom_field_values` and `client.external_references` list records
by id (`only=`) and get one; the SDK also uses them to resolve nested includes.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._pagination import ListRequest
from .._query import MAX_PER_PAGE, Kind
from ._base import M, Resource
from ._nested import includable

if TYPE_CHECKING:
    from .._client import KantataClient

__all__ = ["Collection"]

_FILTERS = {"only": Kind.IDS}


class Collection(Resource[M]):
    """A read-only endpoint: `list(only=..., include=...)` and `get(id, include=...)`."""

    def __init__(self, client: KantataClient, key: str) -> None:
        super().__init__(client)
        self.path = key
        self.singular = key.removesuffix("s")
        self.includes = frozenset(includable(key))

    def list(
        self,
        *,
        only: Sequence[str | int] | None = None,
        include: Sequence[str] | None = None,
        per_page: int | None = None,
    ) -> ListRequest[M]:
        """`GET /<key>`, optionally only the given ids."""
        return self._list_request(_FILTERS, {"only": only}, include, None, None, per_page)

    async def get(self, id: str | int, *, include: Sequence[str] | None = None) -> M:
        """`GET /<key>/{id}`."""
        return await self._read_one((self.path, self._id(id)), include)

    async def _fetch_by_ids(self, ids: Sequence[str], include: Sequence[str]) -> builtins.list[M]:
        """One request for up to 200 ids, with one level of include, merged into the graph
        (shared with an identical one in flight).

        It asks with `apply_default_filters=false` (Brainstem's switch, which Kantata's own
        client sends on these requests): the records are wanted because something links to
        them, so the filters that hide records from a plain list (disabled users, users who
        share no project with you) must not hide them here.
        """
        params = {
            "only": ",".join(ids),
            "per_page": str(MAX_PER_PAGE),
            "apply_default_filters": "false",
        }
        if include:
            params["include"] = ",".join(include)

        async def fetch() -> builtins.list[M]:
            payload, sent = await self._call_stamped("GET", (self.path,), params=params)
            items = self._merge("GET", (self.path,), payload, sent=sent)
            self._check_asked(items, ids)
            return items

        # Two pages whose records link to the same ones ask for the same batch: one request.
        return builtins.list(await self._shared_get("by_ids", (self.path,), params, fetch))
