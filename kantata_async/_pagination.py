"""The object `list(...)` returns: awaitable and async-iterable, it walks a list's pages.

A page itself (`Page`, `Fetched`, reading an envelope's counts) is `_page`'s; its names are
imported here too, where the resources and the package root have always found them.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ._errors import PaginationError
from ._ids import IdSet
from ._models.base import Model
from ._page import BuildPage, Fetched, Page, RequestPage, check_list_page
from ._page import page_from_envelope as page_from_envelope

__all__ = ["Fetched", "ListRequest", "Page", "WalkStats"]

M = TypeVar("M", bound=Model)


@dataclass
class WalkStats:
    """What one walk over a list saw, for progress reports and summaries.

    `records` counts the records yielded (each once), `duplicates` those skipped because an
    earlier page had yielded them (records shift between offset pages while a walk runs).
    `count_drift` is how far the records yielded differ from the count the server reported
    (positive: more records than announced); negative drift means records may have been
    missed. `unresolved` counts records of nested include levels that the server did not
    return (hidden from the token, or deleted): their relations read as dangling.
    """

    pages: int = 0
    records: int = 0
    duplicates: int = 0
    reported_count: int | None = None
    unresolved: int = 0

    @property
    def count_drift(self) -> int:
        return self.records - (self.reported_count or 0)


class ListRequest(Generic[M]):
    """What `client.users.list(...)` returns.

    - `await client.users.list(...)`: the first `Page`.
    - `async for user in client.users.list(...)`: every record across all pages, each once,
      fetched `concurrency` pages at a time (the client's `max_concurrency` by default).
    - `async for page in client.users.list(...).pages(concurrency=8, ordered=True)`: pages,
      each holding only the records no earlier page of the walk yielded.

    The walk trusts nothing the count says. It fetches page 1, then the pages the server
    announced concurrently. A short page before the announced last page does not end it (a
    record was hidden or deleted meanwhile); an empty page does, whatever the count
    promises; when the last page comes back full it asks for the next one, inside the
    concurrent window. A record that shifts between pages while it runs (offset paging) is
    yielded once. A full page holding only records already yielded means the server (or a
    proxy) ignores `page`: the walk stops with `PaginationError` rather than loop. A list
    by ids (`only=`), which Kantata does not paginate, is one request per 200 ids.

    `stats` describes the latest walk (each walk starts its own). Breaking out of the loop,
    or cancelling the task, cancels every fetch in flight; `aclose()` (or
    `contextlib.aclosing(...)`) ends every walk of this request at once.
    """

    def __init__(
        self,
        request: RequestPage,
        build: BuildPage[M],
        *,
        concurrency: int = 1,
        pages: int | None = None,
        on_complete: Callable[[], None] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        self._request = request
        self._build = build
        self._concurrency = concurrency
        self._fixed_pages = pages
        self._on_complete = on_complete
        self._walks: weakref.WeakSet[AsyncGenerator[Any, None]] = weakref.WeakSet()
        self.stats = WalkStats()

    async def page(self, number: int) -> Page[M]:
        """Page `number` of the list (1 for the first), merged into the graph.

        For a list by ids, page `n` is the `n`th chunk of 200 ids.
        """
        if number < 1 or (self._fixed_pages is not None and number > self._fixed_pages):
            raise ValueError(f"no page {number}")
        return await self._build(number, await self._request(number))

    def __await__(self) -> Generator[Any, None, Page[M]]:
        return self.page(1).__await__()

    def __aiter__(self) -> AsyncIterator[M]:
        walk = self._items()
        self._walks.add(walk)
        return walk

    def pages(
        self, concurrency: int | None = None, *, ordered: bool = True, first_window: int = 1
    ) -> AsyncGenerator[Page[M], None]:
        """Every page of the list: in page order (`ordered=True`) or as they arrive.

        `first_window` pages are asked for before page 1 answers. The default, 1, learns the
        page count first; pass more only when you know the list is long (it saves a round
        trip, and costs requests for empty pages when the list is short).
        """
        width = self._concurrency if concurrency is None else concurrency
        if width < 1:
            raise ValueError(f"concurrency must be >= 1, got {width}")
        if not 1 <= first_window <= width:
            raise ValueError(f"first_window must be from 1 to concurrency ({width})")
        walk = self._walk(width, ordered, first_window)
        self._walks.add(walk)
        return walk

    async def aclose(self) -> None:
        """End every walk of this request now, cancelling the fetches in flight."""
        for walk in list(self._walks):
            await walk.aclose()

    async def _walk(
        self, width: int, ordered: bool, first_window: int
    ) -> AsyncGenerator[Page[M], None]:
        stats = self.stats = WalkStats()
        seen = IdSet()
        fixed = self._fixed_pages
        # The last page the walk asks for unless a full page at the edge pushes it further.
        horizon = first_window if fixed is None else fixed
        announced = 0  # the most pages any answer announced
        end: int | None = None  # the first page known to be past the end
        next_page = next_out = 1
        full: dict[int, bool] = {}
        # Two kinds of work run side by side: HTTP requests for pages, and builds (merge into
        # the graph, then any nested-include requests). A body is handed to a build after the
        # request window has been refilled, so the next requests are on the wire while the
        # loop merges, and one page's nested lookups overlap the others'.
        requests: dict[int, asyncio.Task[Fetched]] = {}
        builds: dict[int, asyncio.Task[Page[M]]] = {}
        ready: dict[int, Page[M]] = {}

        def refill() -> None:
            nonlocal next_page
            while (
                len(requests) < width
                and len(builds) < width
                and next_page <= horizon
                and (end is None or next_page < end)
            ):
                requests[next_page] = asyncio.ensure_future(self._request(next_page))
                next_page += 1

        def fresh(page: Page[M]) -> Page[M]:
            """The page, holding only records no earlier page of this walk yielded."""
            new = [item for item in page.items if seen.add(item.__dict__["id"])]
            stats.duplicates += len(page.items) - len(new)
            if page.items and not new and full[page.page_number] and fixed is None:
                raise PaginationError(
                    f"page {page.page_number} holds only records that earlier pages already "
                    f"gave ({len(page.items)} of them): the server (or a proxy in front of "
                    "it) seems to ignore the page number; stopped rather than loop",
                    page=page.page_number,
                )
            stats.records += len(new)
            page.items = new
            return page

        try:
            while True:
                refill()
                if not requests and not builds:
                    break
                waiting = [*requests.values(), *builds.values()]
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                arrived = sorted(n for n, t in requests.items() if t in done)
                bodies: list[tuple[int, Fetched]] = []
                for number in arrived:
                    fetched = requests.pop(number).result()  # a failed request ends the walk
                    stats.pages += 1
                    results, count, page_count, page_size = check_list_page(fetched.payload)
                    full[number] = results >= page_size
                    if fixed is not None:  # a chunk of ids: no paging, the count is its own
                        stats.reported_count = (stats.reported_count or 0) + count
                        bodies.append((number, fetched))
                        continue
                    announced = max(announced, page_count)
                    horizon = max(horizon, page_count)
                    if number == 1:
                        stats.reported_count = count
                        # When the count fills its last page exactly, the page after it is
                        # asked for at once: a short count then costs no round trip at the end.
                        if count > 0 and count % page_size == 0:
                            horizon = max(horizon, page_count + 1)
                    if results == 0:
                        end = number if end is None else min(end, number)
                    elif results < page_size:
                        # A short page ends the list only at or past the last page announced:
                        # before it, a record was hidden or deleted while the walk ran.
                        if number >= announced:
                            end = number + 1 if end is None else min(end, number + 1)
                    elif number >= horizon:
                        horizon = number + 1  # a full page at the edge: probe one more
                    bodies.append((number, fetched))
                for number in sorted(n for n, t in builds.items() if t in done):
                    ready[number] = builds.pop(number).result()  # a failed build ends it too
                if end is not None:
                    for number in [n for n in requests if n >= end]:
                        requests.pop(number).cancel()
                refill()
                if bodies and requests:
                    # Let the new requests go out before this loop spends time merging.
                    await asyncio.sleep(0)
                for number, fetched in bodies:
                    if end is None or number < end:
                        builds[number] = asyncio.ensure_future(self._build(number, fetched))
                if ordered:
                    while next_out in ready:
                        yield fresh(ready.pop(next_out))
                        next_out += 1
                    while end is not None and next_out >= end and next_out < next_page:
                        next_out += 1  # pages past the end are never built
                else:
                    for number in sorted(ready):
                        yield fresh(ready.pop(number))
            for number in sorted(ready):
                yield fresh(ready.pop(number))
            if self._on_complete is not None:
                self._on_complete()
        finally:
            pending = [*requests.values(), *builds.values()]
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    async def _items(self) -> AsyncGenerator[M, None]:
        pages = self.pages()
        try:
            async for page in pages:
                for item in page.items:
                    yield item
        finally:
            await pages.aclose()
