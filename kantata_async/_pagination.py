"""Pages of a list endpoint, and the object `list(...)` returns: awaitable and async-iterable."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any, Generic, TypeVar

from ._errors import PayloadError
from .models import Model

__all__ = ["ListRequest", "Page"]

M = TypeVar("M", bound=Model)

# Fetches page `n` of a list: given a page number, the merged Page.
FetchPage = Callable[[int], Awaitable["Page[M]"]]


class Page(Generic[M]):
    """One page of a list: its records (live graph objects) and the envelope's counts.

    `count` is what the server reports as the total; it can be wrong, and iteration does
    not trust it (see `ListRequest`).
    """

    def __init__(
        self,
        *,
        items: list[M],
        count: int,
        page_count: int,
        page_number: int,
        page_size: int,
        fetch: FetchPage[M],
    ) -> None:
        self.items = items
        self.count = count
        self.page_count = page_count
        self.page_number = page_number
        self.page_size = page_size
        self._fetch = fetch

    def has_next_page(self) -> bool:
        """Whether a later page may hold records.

        True while the server reports more pages, and also after a full last page (the
        reported count may be short); False after an empty page, whatever the count says.
        """
        if not self.items:
            return False
        return self.page_number < self.page_count or len(self.items) >= self.page_size

    async def next_page(self) -> Page[M]:
        """Fetch the page after this one."""
        if not self.has_next_page():
            raise ValueError(f"page {self.page_number} is the last page")
        return await self._fetch(self.page_number + 1)

    def __repr__(self) -> str:
        return (
            f"<Page {self.page_number} of {self.page_count}: {len(self.items)} items, "
            f"count={self.count}>"
        )


def page_from_envelope(
    payload: Any, items: list[M], page: int, per_page: int, fetch: FetchPage[M]
) -> Page[M]:
    """Read the counts of a list envelope (whose records the graph has merged into `items`)."""
    meta = payload.get("meta") if isinstance(payload, dict) else None
    if not isinstance(meta, dict):
        meta = {}
    try:
        count = int(meta.get("count", payload.get("count", len(items))))
        page_count = int(meta.get("page_count", 0))
        page_size = int(meta.get("page_size") or per_page)
    except (TypeError, ValueError) as err:
        raise PayloadError(f"unreadable pagination counts in 'meta': {meta!r}") from err
    return Page(
        items=items,
        count=count,
        page_count=page_count,
        # The server echoes the page it was asked for (0 when there are no records).
        page_number=page,
        page_size=page_size,
        fetch=fetch,
    )


class ListRequest(Generic[M]):
    """What `client.users.list(...)` returns.

    - `await client.users.list(...)`: the first `Page`.
    - `async for user in client.users.list(...)`: every record across all pages, each once.

    Iteration walks pages in order and stops at the first empty page, even when the reported
    `count` promises more; after a full last page it asks for one more page, in case the
    count was short. A record that shifts into a later page while the walk runs (offset
    paging) is not yielded twice.
    """

    def __init__(self, fetch: FetchPage[M]) -> None:
        self._fetch = fetch

    def __await__(self) -> Generator[Any, None, Page[M]]:
        return self._fetch(1).__await__()

    def __aiter__(self) -> AsyncIterator[M]:
        return self._items()

    async def pages(self) -> AsyncIterator[Page[M]]:
        """Every page in order, until an empty page or the last one."""
        page = await self._fetch(1)
        while True:
            yield page
            if not page.has_next_page():
                return
            page = await page.next_page()

    async def _items(self) -> AsyncIterator[M]:
        seen: set[str] = set()
        async for page in self.pages():
            fresh = 0
            for item in page.items:
                key = item.__dict__["id"]
                if key not in seen:
                    seen.add(key)
                    fresh += 1
                    yield item
            if not fresh and page.page_number > page.page_count:
                # Probing past the reported count found nothing new: a server that ignores
                # `page` would otherwise keep the walk going for ever.
                return
