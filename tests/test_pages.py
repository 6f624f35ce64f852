"""Concurrent page walks: order, lying counts, shifting records, cancellation, errors."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from conftest import sdk_tasks, visible

from kantata_async import KantataClient, NotFoundError, RetryPolicy, ServerError, User
from kantata_async.testing import FakeKantata, RecordedRequest

FAST = RetryPolicy.instant(max_retries=2)


@pytest.fixture
async def big() -> AsyncIterator[FakeKantata]:
    async with FakeKantata(users=450, seed=3) as server:
        yield server


async def test_pages_in_order_cover_every_user_once(big: FakeKantata) -> None:
    async with KantataClient(big.token, base_url=big.base_url, max_concurrency=6) as client:
        walk = client.users.list(per_page=20)
        pages = [p async for p in walk.pages(concurrency=6)]
    numbers = [p.page_number for p in pages]
    assert numbers == list(range(1, len(pages) + 1))
    ids = [u.id for p in pages for u in p.items]
    assert len(ids) == len(set(ids))
    assert set(ids) == visible(big)
    # The order was pinned for the walk, on every page.
    assert {r.query["order"] for r in big.requests} == {"alphabetical:asc"}


async def test_unordered_pages_still_cover_every_user_once(big: FakeKantata) -> None:
    big.latency = 0.002
    async with KantataClient(big.token, base_url=big.base_url) as client:
        pages = [p async for p in client.users.list(per_page=15).pages(ordered=False)]
    ids = [u.id for p in pages for u in p.items]
    assert len(ids) == len(set(ids))
    assert set(ids) == visible(big)
    assert pages[0].page_number == 1


async def test_pages_are_fetched_concurrently_within_the_bound(big: FakeKantata) -> None:
    big.latency = 0.02
    concurrent: list[int] = []
    in_flight = 0

    async def hook(_: RecordedRequest) -> None:
        nonlocal in_flight
        in_flight += 1
        concurrent.append(in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1

    big.on_request = hook
    async with KantataClient(big.token, base_url=big.base_url, max_concurrency=4) as client:
        count = len([u async for u in client.users.list(per_page=20)])
    assert count == len(visible(big))
    assert max(concurrent) == 4  # never more than the client's bound, and it was reached


async def test_a_full_last_page_is_probed_inside_the_window(big: FakeKantata) -> None:
    while not any(len(visible(big)) % p == 0 for p in range(10, 60)):
        big.dataset.delete("users", max(visible(big), key=int))  # a total with a divisor
    total = len(visible(big))
    size = next(p for p in range(10, 60) if total % p == 0)
    big.count_offset = -size  # the count claims one page fewer than there is
    async with KantataClient(big.token, base_url=big.base_url) as client:
        walk = client.users.list(per_page=size)
        ids = [u.id async for u in walk]
    assert set(ids) == visible(big)
    assert walk.stats.count_drift == size
    requested = sorted(int(r.query["page"]) for r in big.requests)
    assert requested == list(range(1, total // size + 2))  # the real pages and one empty


async def test_inserts_and_deletes_during_the_walk_never_duplicate(big: FakeKantata) -> None:
    total_before = len(visible(big))
    state = {"n": 0}

    def shift(request: RecordedRequest) -> None:
        # Between page answers: a new user sorted first, and one user deleted, each time.
        state["n"] += 1
        if request.path == "users" and state["n"] % 2 == 0:
            big.dataset.add_user("Aaron Aardvark " + str(state["n"]))
        if request.path == "users" and state["n"] % 3 == 0:
            victim = sorted(visible(big), key=int)[-state["n"]]
            big.dataset.delete("users", victim)

    big.on_request = shift
    async with KantataClient(big.token, base_url=big.base_url, max_concurrency=3) as client:
        walk = client.users.list(per_page=25)
        ids = [u.id async for u in walk]
    assert len(ids) == len(set(ids))  # never the same record twice
    assert walk.stats.records == len(ids)
    assert walk.stats.duplicates > 0  # inserts pushed records onto later pages
    assert walk.stats.reported_count == total_before


async def test_breaking_out_cancels_every_fetch(big: FakeKantata) -> None:
    big.latency = 0.05
    async with KantataClient(big.token, base_url=big.base_url) as client:
        walk = client.users.list(per_page=10)
        async with contextlib.aclosing(walk.pages(concurrency=8)) as pages:
            async for page in pages:
                assert page.page_number == 1
                break
        assert sdk_tasks() == []
    # Fetches that were in flight were abandoned, not answered into the void.
    assert len(big.requests) <= 1 + 8


async def test_cancelling_the_consumer_leaves_no_task(big: FakeKantata) -> None:
    big.latency = 0.05
    async with KantataClient(big.token, base_url=big.base_url) as client:

        async def consume() -> int:
            return len([u async for u in client.users.list(per_page=10)])

        task = asyncio.create_task(consume())
        while len(big.requests) < 3:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(3):
            await asyncio.sleep(0)
        assert sdk_tasks() == []


async def test_a_failed_page_ends_the_walk_with_its_error(big: FakeKantata) -> None:
    big.fail_next(500, times=1, path="users")
    async with KantataClient(big.token, base_url=big.base_url, retry=FAST) as client:
        with pytest.raises(ServerError):
            [u async for u in client.users.list(per_page=20)]
        assert sdk_tasks() == []


async def test_a_failed_later_page_cancels_the_rest(big: FakeKantata) -> None:
    calls = {"n": 0}

    def fail_third(request: RecordedRequest) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            big.fail_next(404, path="users")

    big.on_request = fail_third
    async with KantataClient(big.token, base_url=big.base_url, retry=FAST) as client:
        seen: list[User] = []
        with pytest.raises(NotFoundError):
            async for user in client.users.list(per_page=10):
                seen.append(user)
        assert seen  # page 1 arrived before the failure
        assert sdk_tasks() == []


async def test_concurrency_must_be_positive(client: KantataClient) -> None:
    with pytest.raises(ValueError, match="concurrency must be >= 1"):
        [p async for p in client.users.list().pages(concurrency=0)]


async def test_a_first_window_asks_for_pages_before_page_one_answers(big: FakeKantata) -> None:
    big.latency = 0.01
    async with KantataClient(big.token, base_url=big.base_url) as client:
        walk = client.users.list(per_page=20)
        pages = [p async for p in walk.pages(concurrency=8, first_window=8)]
    assert [p.page_number for p in pages] == list(range(1, len(pages) + 1))
    assert {u.id for p in pages for u in p.items} == visible(big)
    first_eight = sorted(int(r.query["page"]) for r in big.requests[:8])
    assert first_eight == list(range(1, 9))


async def test_a_first_window_on_a_short_list_yields_only_real_pages(
    fake: FakeKantata, client: KantataClient
) -> None:
    pages = [p async for p in client.users.list(per_page=50).pages(first_window=4)]
    assert [p.page_number for p in pages] == [1, 2]
    assert sum(len(p.items) for p in pages) == len(visible(fake))


async def test_first_window_must_fit_the_concurrency(client: KantataClient) -> None:
    with pytest.raises(ValueError, match="first_window must be from 1 to concurrency"):
        [p async for p in client.users.list().pages(concurrency=2, first_window=3)]
