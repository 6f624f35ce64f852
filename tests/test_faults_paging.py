"""Fault matrix row 2: lying counts, a page emptied mid-walk, records changing under the walk."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import visible
from fault_helpers import alphabetical, fast_policy, page_of, read_rows

from kantata_async import KantataClient
from kantata_async.export import export
from kantata_async.testing import FakeKantata, RecordedRequest

# == row 2: lying counts, an emptied page, records changing under the walk ===================


@pytest.mark.parametrize("offset", [7, -25, -10_000])
async def test_a_lying_count_in_an_export(fake: FakeKantata, tmp_path: Path, offset: int) -> None:
    fake.count_offset = offset
    everyone = visible(fake)
    out = tmp_path / "users.ndjson"
    async with KantataClient(fake.token, base_url=fake.base_url, retry=fast_policy()) as client:
        summary = await export(client, "users", out, per_page=10, concurrency=4)

    ids = [row["id"] for row in read_rows(out)]
    assert len(ids) == len(set(ids)) == len(everyone)
    assert set(ids) == everyone
    reported = max(len(everyone) + offset, 0)
    assert summary.complete
    assert summary.reported_count == reported
    assert summary.count_drift == len(everyone) - reported
    assert summary.records == len(everyone)


@pytest.mark.parametrize("offset", [7, -25, -10_000])
async def test_a_lying_count_in_a_walk(fake: FakeKantata, offset: int) -> None:
    fake.count_offset = offset
    everyone = visible(fake)
    async with KantataClient(fake.token, base_url=fake.base_url, max_concurrency=3) as client:
        walk = client.users.list(per_page=10)
        ids = [u.id async for u in walk]
    assert len(ids) == len(set(ids))
    assert set(ids) == everyone
    assert walk.stats.duplicates == 0
    assert walk.stats.records == len(everyone)
    assert walk.stats.reported_count == max(len(everyone) + offset, 0)
    assert walk.stats.count_drift == len(everyone) - walk.stats.reported_count


async def test_a_page_emptied_mid_walk_ends_it(fake: FakeKantata, tmp_path: Path) -> None:
    everyone = visible(fake)
    served: dict[int, list[str]] = {}

    def empty_page_three(request: RecordedRequest) -> None:
        page = page_of(request)
        if page == 3:
            # Leave 15 users: page 3 (records 21-30) now holds nothing.
            for uid in alphabetical(fake)[15:]:
                if uid != fake.me:  # the requester stays (16 left at most)
                    fake.dataset.delete("users", uid)
        if page is not None:
            served[page] = alphabetical(fake)[(page - 1) * 10 : page * 10]

    fake.on_request = empty_page_three
    out = tmp_path / "users.ndjson"
    async with KantataClient(fake.token, base_url=fake.base_url, retry=fast_policy()) as client:
        summary = await export(client, "users", out, per_page=10, concurrency=1)

    ids = [row["id"] for row in read_rows(out)]
    assert served[3] == []
    assert ids == served[1] + served[2]  # pages 1 and 2, in order, each record once
    assert sorted(served) == [1, 2, 3]  # nothing asked for after the empty page
    assert summary.complete
    assert summary.records == 20
    assert summary.reported_count == len(everyone)
    assert summary.count_drift == 20 - len(everyone)


@pytest.mark.parametrize("via", ["walk", "export"])
async def test_inserts_and_deletes_during_a_sequential_walk_match_offset_paging(
    fake: FakeKantata, tmp_path: Path, via: str
) -> None:
    """One page at a time, so what each page served is known: an exact oracle."""
    start = len(visible(fake))
    served: dict[int, list[str]] = {}
    changes = Counter[str]()

    def churn(request: RecordedRequest) -> None:
        page = page_of(request)
        if page is None:
            return
        if page >= 2 and page % 2 == 0:
            fake.dataset.add_user(f"Aaaa Inserted {page}")  # sorts first: shifts pages right
            changes["inserts"] += 1
        elif page >= 2:
            fake.dataset.delete("users", alphabetical(fake)[0])  # shifts pages left
            changes["deletes"] += 1
        served[page] = alphabetical(fake)[(page - 1) * 10 : page * 10]

    fake.on_request = churn
    async with KantataClient(fake.token, base_url=fake.base_url, max_concurrency=1) as client:
        if via == "walk":
            walk = client.users.list(per_page=10)
            ids = [u.id async for u in walk]
            stats: Any = walk.stats
        else:
            out = tmp_path / "users.ndjson"
            stats = await export(client, "users", out, per_page=10, concurrency=1)
            ids = [row["id"] for row in read_rows(out)]
            assert stats.complete

    every_served = [uid for page in sorted(served) for uid in served[page]]
    assert sorted(served) == list(range(1, len(served) + 1))
    assert ids == list(dict.fromkeys(every_served))  # first sightings, in order
    assert len(ids) == len(set(ids))
    assert stats.records == len(ids)
    assert stats.duplicates == len(every_served) - len(ids)
    assert stats.reported_count == start
    assert stats.count_drift == len(ids) - start
    # What offset paging predicts: each insert re-serves one record, each delete skips one.
    assert changes["inserts"] >= 2 and changes["deletes"] >= 2
    assert stats.duplicates == changes["inserts"]
    assert stats.count_drift == -changes["deletes"]


async def test_inserts_and_deletes_during_a_concurrent_walk(fake: FakeKantata) -> None:
    start = len(visible(fake))
    arrivals = 0
    touched: set[str] = set()

    def churn(request: RecordedRequest) -> None:
        nonlocal arrivals
        if page_of(request) is None:
            return
        arrivals += 1
        if arrivals % 2 == 0:
            touched.add(fake.dataset.add_user(f"Aaaa Inserted {arrivals}")["id"])
        if arrivals % 3 == 0:
            victim = alphabetical(fake)[len(alphabetical(fake)) // 2]
            fake.dataset.delete("users", victim)
            touched.add(victim)

    fake.on_request = churn
    async with KantataClient(fake.token, base_url=fake.base_url, max_concurrency=4) as client:
        walk = client.users.list(per_page=8)
        ids = [u.id async for u in walk]

    assert arrivals >= 5
    assert len(ids) == len(set(ids))  # never the same record twice
    assert walk.stats.records == len(ids)
    assert walk.stats.reported_count == start
    assert walk.stats.count_drift == len(ids) - start
    assert set(ids) <= visible(fake) | touched  # nothing invented
