"""The pages of a list: walked by page number, or, for a list by ids, by chunks of ids; and
what a list filtered by its own foreign key completes once walked."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .._errors import PayloadError
from .._models.base import Model
from .._page import check_list_page
from .._pagination import Fetched, ListRequest, Page, page_from_envelope
from .._query import MAX_PER_PAGE, check_per_page, chunks
from .._secret import invalid_answer
from ._nested import IncludeTree, load_nested

if TYPE_CHECKING:
    from ._base import Resource

M = TypeVar("M", bound=Model)

__all__ = ["completion", "list_pages"]


def list_pages(
    resource: Resource[M],
    params: dict[str, str],
    per_page: int | None,
    tree: IncludeTree,
    path: tuple[str, ...],
    on_complete: Callable[[], None] | None = None,
) -> ListRequest[M]:
    """The pages of `GET <path>` with `params`: walked by page, or by id chunks.

    Kantata does not paginate a list by ids (`only=`): every page number answers every
    match. So such a list is one request per 200 ids, never a page walk.
    """
    api = resource._api
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
            payload: Any
            payload, sent = await api.request_stamped("GET", path, params=query)
            try:
                check_list_page(payload)
            except PayloadError as err:
                invalid_answer(err, api.redact, method="GET", path="/".join(path))
            return Fetched(payload, sent)

        # Walks of the same list share a page in flight, and merge it once (`Fetched`).
        return await resource._shared_get("page", path, query, fetch)

    def merge(payload: Any, sent: Any) -> list[M]:
        return resource._merge("GET", path, payload, sent=sent)

    async def build(page: int, fetched: Fetched) -> Page[M]:
        items = fetched.merged(merge)
        if by_ids is not None:
            resource._check_asked(items, by_ids[page - 1])
        if tree and items:
            # The deeper levels arrive before the page does: its records come linked.
            missing = await load_nested(api, resource.key, items, tree)
            listing.stats.unresolved += missing
        chunk_count = len(by_ids) if by_ids is not None else None
        return page_from_envelope(
            fetched.payload, items, page, size or 20, listing.page, chunks=chunk_count
        )

    listing = ListRequest(
        request,
        build,
        concurrency=api.max_concurrency,
        pages=len(by_ids) if by_ids is not None else None,
        on_complete=on_complete,
    )
    return listing


def completion(resource: Resource[Any], filters: Mapping[str, Any]) -> Callable[[], None] | None:
    """For a list filtered only by its own foreign key (`user_ids=[...]` of memberships):
    what marks the inverse relations of those records complete once the walk ends."""
    if len(filters) != 1:
        return None
    [(name, value)] = filters.items()
    found = [
        (rel.target, inverse)
        for rel in resource.model.__kantata_relations__.values()
        if not rel.many
        and name == f"{rel.field}s"
        and (inverse := rel.feeds.get(rel.target or "")) is not None
    ]
    if not found:
        return None
    [(target, inverse)] = found
    graph, ids = resource._api.graph, [str(v) for v in value]

    def complete() -> None:
        for id_ in ids:
            obj = graph.get(target or "", id_)
            if obj is not None:
                graph.mark_loaded(obj, inverse.name)

    return complete
