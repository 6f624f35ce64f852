"""The page walk under servers that page oddly: lists by ids, ignored pages, short pages.

Each test here failed before the walk learned to handle its case: it looped forever, stopped
early and called the list complete, or sent requests it had no reason to send. So did those
of `test_walk_nested.py` and `test_walk_writes.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from conftest import sdk_tasks, user_ids, visible
from servers import AppServer

from kantata_async import (
    APIConnectionError,
    KantataClient,
    PaginationError,
    ResponseValidationError,
    RetryPolicy,
    User,
)
from kantata_async.export import ExportError, export
from kantata_async.testing import FakeKantata

FAST = RetryPolicy.instant(max_retries=2)
TOKEN = "walk-token"


@pytest.fixture
async def big() -> AsyncIterator[FakeKantata]:
    async with FakeKantata(users=520, seed=3) as server:
        yield server


# -- 1. a list by ids is not paginated -----------------------------------------------------


async def test_a_list_by_ids_is_one_request_not_a_page_walk(
    fake: FakeKantata, client: KantataClient
) -> None:
    # Kantata answers every page number of an `only=` request with every match, and still
    # announces ceil(count / per_page) pages: a page walk would never end.
    ids = user_ids(fake)[:25]
    async with asyncio.timeout(20):
        users = [u async for u in client.users.list(only=ids)]
    assert sorted(u.id for u in users) == sorted(ids)
    assert len(fake.requests) == 1
    assert "page" not in fake.requests[0].query
    assert fake.requests[0].query["only"] == ",".join(ids)


async def test_a_long_list_by_ids_is_one_request_per_200_ids(big: FakeKantata) -> None:
    ids = user_ids(big)
    assert len(ids) > 400
    async with KantataClient(big.token, base_url=big.base_url) as client:
        listing = client.users.list(only=[*ids, ids[0]])  # a repeated id is asked for once
        async with asyncio.timeout(20):
            users = [u async for u in listing]
        assert sorted(u.id for u in users) == sorted(ids)
        assert listing.stats.records == len(ids)
        assert listing.stats.count_drift == 0
        asked = [r.query["only"].split(",") for r in big.requests]
        assert [len(chunk) for chunk in asked] == [200, 200, len(ids) - 400]
        assert sorted(i for chunk in asked for i in chunk) == sorted(ids)

        big.requests.clear()
        first = await client.users.list(only=ids)
        assert len(big.requests) == 1
        assert (first.page_number, first.page_count) == (1, 3)
        assert first.has_next_page()
        third = await (await first.next_page()).next_page()
        assert not third.has_next_page()
        assert len(big.requests) == 3


async def test_a_read_only_collection_and_an_export_by_ids_send_one_request(
    fake: FakeKantata, client: KantataClient, tmp_path: Path
) -> None:
    skills = sorted(fake.dataset.records["skills"], key=int)[:30]
    async with asyncio.timeout(20):
        found = [s async for s in client.skills.list(only=skills)]
    assert sorted(s.id for s in found) == sorted(skills)
    assert len(fake.requests) == 1

    fake.requests.clear()
    ids = user_ids(fake)[:25]
    async with asyncio.timeout(20):
        summary = await export(client, "users", tmp_path / "u.ndjson", filters={"only": ids})
    assert summary.records == 25
    assert summary.complete
    assert len(fake.requests) == 1


def _page_app(pages: Callable[[web.Request], dict[str, Any]], seen: list[dict[str, str]]) -> Any:
    async def users(request: web.Request) -> web.Response:
        seen.append(dict(request.query))
        return web.json_response(pages(request))

    app = web.Application()
    app.router.add_get("/api/v1/users", users)
    return app


def _envelope(ids: list[int], *, count: int, page: int, per_page: int = 20) -> dict[str, Any]:
    return {
        "count": count,
        "meta": {
            "count": count,
            "page_count": math.ceil(count / per_page) if count else 0,
            "page_number": page,
            "page_size": per_page,
        },
        "results": [{"key": "users", "id": str(i)} for i in ids],
        "users": {str(i): {"id": str(i), "full_name": f"user {i}"} for i in ids},
    }


async def test_a_server_that_ignores_only_is_an_error() -> None:
    seen: list[dict[str, str]] = []
    app = _page_app(lambda r: _envelope(list(range(1, 21)), count=500, page=1), seen)
    async with AppServer(app) as server, KantataClient(TOKEN, base_url=server.url()) as client:
        with pytest.raises(ResponseValidationError, match="ignore only="):
            await client.users.list(only=["900", "901"])
    assert len(seen) == 1


# -- 2. a server that ignores `page` --------------------------------------------------------


async def test_a_server_that_ignores_page_stops_the_walk_with_a_typed_error() -> None:
    seen: list[dict[str, str]] = []
    # Page 1, whatever page is asked for, and 50 pages announced.
    app = _page_app(lambda r: _envelope(list(range(1, 21)), count=1000, page=1), seen)
    async with (
        AppServer(app) as server,
        KantataClient(TOKEN, base_url=server.url(), max_concurrency=4) as client,
    ):
        listing = client.users.list()
        got: list[User] = []
        with pytest.raises(PaginationError) as info:
            async with asyncio.timeout(20):
                async for user in listing:
                    got.append(user)
        assert info.value.page == 2
        assert len(got) == 20  # page 1, once
        assert sdk_tasks() == []
    # Page 1 alone, then at most a window of requests and a window of builds (4 each).
    assert len(seen) <= 1 + 2 * 4


async def test_an_export_from_a_server_that_ignores_page_is_incomplete(tmp_path: Path) -> None:
    seen: list[dict[str, str]] = []
    app = _page_app(lambda r: _envelope(list(range(1, 21)), count=1000, page=1), seen)
    async with (
        AppServer(app) as server,
        KantataClient(TOKEN, base_url=server.url(), max_concurrency=4) as client,
    ):
        with pytest.raises(ExportError) as info:
            async with asyncio.timeout(20):
                await export(client, "users", tmp_path / "u.ndjson")
    assert isinstance(info.value.__cause__, PaginationError)
    assert not info.value.summary.complete
    assert len(seen) <= 1 + 2 * 4


# -- 3. a short page in the middle ----------------------------------------------------------


async def test_a_short_page_in_the_middle_is_not_the_end(tmp_path: Path) -> None:
    # 100 records announced, 5 pages of 20; page 2 comes back one short (hidden or deleted
    # while the walk ran). The walk goes on to the end the server announced.
    table = {
        1: list(range(1, 21)),
        2: list(range(21, 40)),
        3: list(range(41, 61)),
        4: list(range(61, 81)),
        5: list(range(81, 101)),
    }

    def page(request: web.Request) -> dict[str, Any]:
        number = int(request.query.get("page", "1"))
        return _envelope(table.get(number, []), count=100, page=number)

    seen: list[dict[str, str]] = []
    async with (
        AppServer(_page_app(page, seen)) as server,
        KantataClient(TOKEN, base_url=server.url(), max_concurrency=1) as client,
    ):
        listing = client.users.list()
        ids = [u.id async for u in listing]
        assert len(ids) == 99
        assert set(ids) == {str(i) for r in table.values() for i in r}
        assert listing.stats.count_drift == -1
        summary = await export(client, "users", tmp_path / "u.ndjson")
    assert summary.records == 99
    # Pages 1 to 5, and 6: the last page announced came back full, so one more is asked.
    assert [int(q["page"]) for q in seen[:6]] == [1, 2, 3, 4, 5, 6]


# -- 4. stats per walk, aclose -------------------------------------------------------------


async def test_stats_describe_each_walk_of_pages(fake: FakeKantata, client: KantataClient) -> None:
    listing = client.users.list(per_page=10)
    pages = [p async for p in listing.pages()]
    total = len(visible(fake))
    assert sum(len(p.items) for p in pages) == total
    assert listing.stats.records == total
    assert listing.stats.pages == len(pages)

    again = [u async for u in listing]
    assert len(again) == total
    assert listing.stats.records == total  # a new walk, not added to the last one
    assert listing.stats.duplicates == 0


async def test_pages_hold_each_record_once_when_records_shift(
    fake: FakeKantata, client: KantataClient
) -> None:
    inserted = False

    def insert_before_page_two(request: Any) -> None:
        nonlocal inserted
        if request.query.get("page") == "2" and not inserted:
            inserted = True
            for n in range(3):  # sorts first: shifts three records of page 1 onto page 2
                fake.dataset.add_user(full_name=f"Aaa {n}")

    fake.on_request = insert_before_page_two
    listing = client.users.list(per_page=10)
    pages = [p async for p in listing.pages(concurrency=1)]
    ids = [u.id for p in pages for u in p.items]
    assert len(ids) == len(set(ids))
    assert listing.stats.duplicates == 3
    assert listing.stats.records == len(ids)


async def test_aclosing_a_list_request_stops_its_walk(
    fake: FakeKantata, client: KantataClient
) -> None:
    fake.latency = 0.01
    async with contextlib.aclosing(client.users.list(per_page=5)) as users:
        async for _ in users:
            break
        await users.aclose()  # idempotent
    assert sdk_tasks() == []


# -- 5. more than page 1 only with reason ---------------------------------------------------


async def test_an_export_of_a_short_list_sends_one_request(
    fake: FakeKantata, client: KantataClient, tmp_path: Path
) -> None:
    summary = await export(client, "users", tmp_path / "u.ndjson")
    assert summary.records == len(visible(fake))
    assert [r.path for r in fake.requests] == ["users"]
    assert summary.requests == 1


async def test_an_export_told_its_list_is_long_asks_for_a_window_at_once(
    fake: FakeKantata, client: KantataClient, tmp_path: Path
) -> None:
    summary = await export(client, "users", tmp_path / "u.ndjson", per_page=5, first_window=4)
    assert summary.records == len(visible(fake))
    first = [r for r in fake.requests if r.path == "users"][:4]
    assert [r.query["page"] for r in first] == ["1", "2", "3", "4"]
    with pytest.raises(ValueError, match="first_window"):
        await export(client, "users", tmp_path / "v.ndjson", first_window=9)


async def test_an_export_with_a_bad_token_sends_one_request(
    fake: FakeKantata, tmp_path: Path
) -> None:
    async with KantataClient("not-the-token", base_url=fake.base_url) as client:
        with pytest.raises(ExportError):
            await export(client, "users", tmp_path / "u.ndjson")
    assert [r.status for r in fake.requests] == [401]


async def test_an_export_to_an_unreachable_host_tries_page_one_only(tmp_path: Path) -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    base = f"http://127.0.0.1:{port}/api/v1/"
    async with KantataClient(TOKEN, base_url=base, retry=FAST) as client:
        with pytest.raises(ExportError) as info:
            await export(client, "users", tmp_path / "u.ndjson")
        assert isinstance(info.value.__cause__, APIConnectionError)
        assert client.transport.requests_sent == 1 + FAST.max_retries
