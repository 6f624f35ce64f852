"""One page of a list endpoint: the `Page` object, and reading a list envelope's counts.

`Fetched` carries a page's decoded body until it is merged (once, even when two walks share
the request); `page_from_envelope` builds the `Page` a resource returns, and
`check_list_page` checks a list page and gives the walk in `_pagination` the counts it steers
by (a page without `meta` is read as one page; counts that are not numbers are refused).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Generic, TypeVar

from ._errors import PayloadError
from ._models.base import Model

__all__ = [
    "BuildPage",
    "FetchPage",
    "Fetched",
    "Page",
    "RequestPage",
    "check_list_page",
    "page_from_envelope",
]

M = TypeVar("M", bound=Model)


class Fetched:
    """A list page's decoded body and its request's ticket; merged into the graph once.

    Two walks of the same list may share one page request (`Coalescer`): the first to build
    the page merges the body (the graph adopts its dicts, so it must not be merged twice),
    and the other gets the same records. The walks read the counts from `payload` alike.
    """

    __slots__ = ("_merged", "payload", "sent")

    def __init__(self, payload: Any, sent: Any = None) -> None:
        self.payload = payload
        self.sent = sent
        self._merged: list[Any] | Exception | None = None

    def merged(self, merge: Callable[[Any, Any], list[M]]) -> list[M]:
        """`merge(payload, sent)` the first time; its records (or its error) after that."""
        if self._merged is None:
            try:
                self._merged = merge(self.payload, self.sent)
            except Exception as err:
                self._merged = err
                raise
        if isinstance(self._merged, Exception):
            raise self._merged
        return list(self._merged)  # each walk gets its own list to filter


# Fetches page `n` of a list: given a page number, the merged Page.
FetchPage = Callable[[int], Awaitable["Page[M]"]]
# The two halves of fetching a page: the HTTP request (page number -> decoded envelope), and
# building the page from it (merge into the graph, resolve nested includes).
RequestPage = Callable[[int], Awaitable[Fetched]]
BuildPage = Callable[[int, Fetched], Awaitable["Page[M]"]]


class Page(Generic[M]):
    """One page of a list: its records (live graph objects) and the envelope's counts.

    `count` is what the server reports as the total; it can be wrong, and iteration does
    not trust it (see `ListRequest`). A page of a list by ids (`only=`) is one chunk of at
    most 200 ids, and `page_count` is the number of chunks.
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
        exact: bool = False,
    ) -> None:
        self.items = items
        self.count = count
        self.page_count = page_count
        self.page_number = page_number
        self.page_size = page_size
        self._fetch = fetch
        self._exact = exact  # page_count is known, not announced (a list by ids)

    def has_next_page(self) -> bool:
        """Whether a later page may hold records.

        True while the server reports more pages, and also after a full last page (the
        reported count may be short); False after an empty page, whatever the count says.
        """
        if self._exact:
            return self.page_number < self.page_count
        if not self.items:
            return False
        return self.page_number < self.page_count or len(self.items) >= self.page_size

    async def next_page(self) -> Page[M]:
        """Fetch the page after this one."""
        if not self.has_next_page():
            raise ValueError(f"page {self.page_number} is the last page")
        return await self._fetch(self.page_number + 1)

    def __iter__(self) -> Iterator[M]:
        """The page's records: `for user in page`."""
        return iter(self.items)

    def __len__(self) -> int:
        """How many records the page holds: `len(page)`."""
        return len(self.items)

    def __repr__(self) -> str:
        return (
            f"<Page {self.page_number} of {self.page_count}: {len(self.items)} items, "
            f"count={self.count}>"
        )


def _counts(payload: Any, records: int, default_size: int) -> tuple[int, int, int]:
    """(count, page_count, page_size) from an envelope's `meta`, which may be missing.

    Raises `PayloadError` when `meta` holds counts that are not numbers.
    """
    meta = payload.get("meta") if isinstance(payload, dict) else None
    if not isinstance(meta, dict):
        meta = {}
    raw_count: Any = meta.get("count", payload.get("count", records))
    raw_page_count: Any = meta.get("page_count", 0)
    raw_page_size: Any = meta.get("page_size") or 0
    try:
        return int(raw_count), int(raw_page_count), int(raw_page_size) or default_size
    except (TypeError, ValueError, OverflowError) as err:  # OverflowError: 1e400 is inf
        raise PayloadError(f"unreadable pagination counts in 'meta': {repr(meta)[:200]}") from err


def page_from_envelope(
    payload: Any,
    items: list[M],
    page: int,
    per_page: int,
    fetch: FetchPage[M],
    *,
    chunks: int | None = None,
) -> Page[M]:
    """Read the counts of a list envelope (whose records the graph has merged into `items`).

    `chunks`: the page is chunk `page` of a list by ids with that many chunks.
    """
    count, page_count, page_size = _counts(payload, len(items), per_page)
    return Page(
        items=items,
        count=count,
        page_count=page_count if chunks is None else chunks,
        # The server echoes the page it was asked for (0 when there are no records).
        page_number=page,
        page_size=page_size,
        fetch=fetch,
        exact=chunks is not None,
    )


def check_list_page(payload: Any) -> tuple[int, int, int, int]:
    """(records, count, page_count, page_size) of a list page; `PayloadError` unless it is
    an object with a `results` list and counts in `meta` that are numbers.

    Without `meta` the page still counts: its size is taken from its records and the page
    count as unknown, so the walk goes on until an empty page rather than dropping anything.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
        raise PayloadError("a list page must be a JSON object with a 'results' list")
    results = len(payload["results"])
    return results, *_counts(payload, results, max(results, 1))
