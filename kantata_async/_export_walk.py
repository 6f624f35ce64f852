"""What an export walks: one collection, its include tree and filters, checked before any request.

Shared by the file export (`Exporter`) and the dlt source (`kantata_async.dlt`): a `WalkPlan`
is checked without a client, so that a bad argument fails where it is given, and builds the
list request on whichever client runs the walk (the dlt source makes its client inside dlt's
event loop). `delivered_pages` walks the pages as they arrive and leaves out, per page, the
records a `ChangeTracker` says went out with the previous run.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from datetime import datetime
from typing import TYPE_CHECKING, Any, get_args

from ._generated import CollectionKey
from ._models.base import Model
from ._query import MAX_PER_PAGE
from .resources._nested import IncludeTree, parse_includes
from .resources._registry import RESOURCES
from .sync import ChangeTracker

if TYPE_CHECKING:
    from ._client import KantataClient
    from ._pagination import ListRequest, Page

__all__ = ["LIST_KEYWORDS", "WalkPlan", "delivered_pages", "filter_names"]

# Keywords of `list()` an export takes among its filters (it sets `include` and `per_page`).
LIST_KEYWORDS = ("only", "optional_fields", "order")


def filter_names(resource: str) -> list[str]:
    """The filter names `export` takes for `resource`: its `list()` filters and keywords."""
    return sorted([*RESOURCES[resource].filters, *LIST_KEYWORDS])


class WalkPlan:
    """One collection's walk, every argument checked; nothing is sent.

    `changes=True`: the walk asks for what changed since a watermark, so the collection
    must have an `updated_after` filter and the caller must not set it. Raises `ValueError`
    naming the valid choices for an unknown resource, include path or filter.
    """

    def __init__(
        self,
        resource: str,
        *,
        include: Sequence[str] = (),
        filters: Mapping[str, Any] | None = None,
        per_page: int = MAX_PER_PAGE,
        changes: bool = False,
    ) -> None:
        if resource not in get_args(CollectionKey):
            raise ValueError(
                f"resource must be one of {', '.join(get_args(CollectionKey))}, got {resource!r}"
            )
        tree: IncludeTree
        _, tree = parse_includes(resource, include)
        given = dict(filters or {})
        valid = filter_names(resource)
        unknown = sorted(set(given) - set(valid))
        if unknown:
            raise ValueError(
                f"unknown filter(s) for {resource}: {', '.join(unknown)}; valid: {', '.join(valid)}"
            )
        if changes:
            if "updated_after" in given:
                raise ValueError(
                    f"{resource}: updated_after comes from the watermark (since=); do not "
                    "pass it as a filter too"
                )
            if "updated_after" not in RESOURCES[resource].filters:
                raise ValueError(f"{resource} has no updated_after filter: since= needs one")
        self.resource = resource
        self.include = list(include)
        self.tree = tree
        """The include paths as a tree (`{"account_membership": {"skill_memberships": {}}}`)."""
        self.filters = given
        self.per_page = per_page
        self.model: type[Model] = RESOURCES[resource].model

    def list_request(
        self, client: KantataClient, updated_after: datetime | None = None
    ) -> ListRequest[Model]:
        """The walk's list request on `client`, asking for what changed after `updated_after`
        when given. Checks the filter values (`ValueError`); sends nothing."""
        given = dict(self.filters)
        if updated_after is not None:
            given["updated_after"] = updated_after
        walk: ListRequest[Model] = getattr(client, self.resource).list(
            include=list(self.include), per_page=self.per_page, **given
        )
        return walk


async def delivered_pages(
    walk: ListRequest[Model],
    tracker: ChangeTracker | None,
    concurrency: int,
    first_window: int = 1,
) -> AsyncGenerator[tuple[Page[Model], list[Model]], None]:
    """Each page as it arrives, with the records of it to deliver (all of them without a
    tracker; with one, those whose version the previous run did not deliver).

    Pages come as they arrive, not in page order: a slow page then holds back no others,
    so at most a window of pages is in memory whatever the size. Page 1 comes first, alone,
    unless `first_window` says the list is long: a short list (or a bad token, or a host
    that is down) then costs one request, not a window. Closing this generator closes the
    walk, which cancels the fetches in flight: a failed or cancelled walk leaves no task
    running. The walk gives each record once.
    """
    pages = walk.pages(concurrency, ordered=False, first_window=first_window)
    async with aclosing(pages):
        async for page in pages:
            if tracker is None:
                yield page, page.items
            else:
                yield page, [record for record in page.items if tracker.accept(record)]
