"""Fault matrix row 1: a 10,000-user export under 429s, 503 bursts and dropped connections."""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from conftest import visible
from fault_helpers import page_of, read_rows, recording_policy, statuses, wait_for

from kantata_async import Failure, KantataClient, RetryPolicy
from kantata_async.export import export
from kantata_async.testing import Dataset, FakeKantata, RecordedRequest

BIG = 10_000
BIG_PER_PAGE = 200  # the export's default, the API's maximum


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_dataset() -> Dataset:
    """10,000 users, generated once for the module (about 1.5 s); each test serves it anew."""
    return Dataset(users=BIG, seed=11)


@pytest.fixture
async def big(big_dataset: Dataset) -> AsyncIterator[FakeKantata]:
    """A fresh server (no faults, no hooks, no recorded requests) over the shared dataset."""
    revision = big_dataset.revision
    async with FakeKantata(dataset=big_dataset) as server:
        yield server
    assert big_dataset.revision == revision, "a row-1 test changed the shared dataset"


# == row 1: a 10,000-user export under rate limits, outages and dropped connections =========


async def export_everyone(fake: FakeKantata, policy: RetryPolicy, out: Path) -> Any:
    async with KantataClient(fake.token, base_url=fake.base_url, retry=policy) as client:
        filters = {"show_disabled": True, "on_my_account": True}
        return await export(client, "users", out, filters=filters)


def everyone(fake: FakeKantata) -> set[str]:
    """The users of the account, disabled ones too: what `export_everyone` asks for."""
    return visible(fake, show_disabled=True, on_my_account=True)


def pages_answered(fake: FakeKantata) -> int:
    """The pages of `everyone`, and the empty page probed when the last one is full."""
    count = len(everyone(fake))
    return math.ceil(count / BIG_PER_PAGE) + (count % BIG_PER_PAGE == 0)


def assert_every_user_once(fake: FakeKantata, summary: Any, out: Path) -> None:
    rows = read_rows(out)
    users = fake.dataset.records["users"]
    ids = [row["id"] for row in rows]
    expected = everyone(fake)
    assert len(users) == BIG and 0.9 * BIG < len(expected) < BIG
    assert len(ids) == len(expected)  # no record duplicated ...
    assert set(ids) == expected  # ... and none lost
    for row in rows:
        user = users[row["id"]]
        assert (row["full_name"], row["email_address"]) == (
            user["full_name"],
            user["email_address"],
        )
    assert summary.complete
    assert summary.records == len(expected)
    assert summary.duplicates == 0
    assert summary.reported_count == len(expected)
    assert summary.count_drift == 0
    assert summary.pages == math.ceil(len(expected) / BIG_PER_PAGE)
    assert summary.retries > 0
    # Each page (and an empty page past an exact count) was served exactly once.
    answered = Counter(page_of(r) for r in fake.requests if r.status == 200)
    assert answered == {page: 1 for page in range(1, pages_answered(fake) + 1)}


@pytest.mark.parametrize("retry_after", [None, 0], ids=["no-retry-after", "retry-after-0"])
async def test_10k_export_under_30_percent_429s(
    big: FakeKantata, tmp_path: Path, retry_after: int | None
) -> None:
    big.random_faults(rate_429=0.3, retry_after=retry_after, seed=1)
    policy = recording_policy()
    out = tmp_path / "users.ndjson"
    summary = await export_everyone(big, policy, out)

    assert_every_user_once(big, summary, out)
    limited = statuses(big)[429]
    assert limited > 10
    assert summary.retries == limited == len(policy.seen)
    assert summary.requests == len(big.requests)
    expected_after = None if retry_after is None else float(retry_after)
    assert set(policy.seen) == {(429, None, expected_after)}


async def test_10k_export_through_503_bursts(big: FakeKantata, tmp_path: Path) -> None:
    arrivals = 0

    def bursts(request: RecordedRequest) -> None:
        nonlocal arrivals
        arrivals += 1
        if arrivals in (2, 15, 30, 45):  # the next three requests get a 503 each
            big.fail_next(503, times=3, path="users")

    big.on_request = bursts
    policy = recording_policy()
    out = tmp_path / "users.ndjson"
    summary = await export_everyone(big, policy, out)

    assert_every_user_once(big, summary, out)
    assert big.pending_faults == 0
    assert statuses(big) == {200: pages_answered(big), 503: 12}
    assert summary.retries == 12
    assert summary.requests == len(big.requests) == pages_answered(big) + 12
    assert set(policy.seen) == {(503, None, None)}


async def test_10k_export_through_dropped_connections(big: FakeKantata, tmp_path: Path) -> None:
    big.random_faults(rate_drop=0.4, seed=3)
    policy = recording_policy()
    out = tmp_path / "users.ndjson"
    summary = await export_everyone(big, policy, out)

    assert_every_user_once(big, summary, out)
    counts = statuses(big)
    dropped = counts[None]  # dropped connections are recorded without a status
    assert set(counts) == {200, None}
    assert summary.retries == len(policy.seen)
    assert set(policy.seen) == {(None, Failure.SENT, None)}
    # aiohttp resends a dropped GET once by itself; the SDK sees a failure (and retries)
    # only when that resend is dropped too. So the server saw one request more than the SDK
    # sent for each drop the SDK did not see.
    assert dropped >= 2 * summary.retries
    assert len(big.requests) - summary.requests == dropped - summary.retries


@pytest.mark.parametrize("status", [429, 503])
async def test_a_pause_holds_requests_already_waiting_for_a_slot(
    fake: FakeKantata, status: int
) -> None:
    """A 429/503 pauses the whole client: a request queued for a slot must wait it out too."""
    fake.fail_next(status, retry_after=30, path="users/2")
    waits = RetryPolicy(backoff_base=0.001, backoff_max=0.005)  # Retry-After is waited for
    async with KantataClient(
        fake.token, base_url=fake.base_url, retry=waits, max_concurrency=1
    ) as client:
        tasks = [asyncio.create_task(client.users.get(uid)) for uid in ("2", "3", "4")]
        try:
            await wait_for(lambda: client.transport.retries >= 1, tasks[0])
            await asyncio.sleep(0.3)  # well inside the 30 s the server asked for
            sent = [(r.path, r.status) for r in fake.requests]
            assert sent == [("users/2", status)], "requests were sent during the pause"
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
