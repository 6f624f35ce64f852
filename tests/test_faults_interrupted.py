"""Fault matrix rows 4 and 5: a write whose answer is lost, and an export cancelled midway."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from datetime import date
from pathlib import Path

import pytest
from conftest import sdk_tasks, visible
from fault_helpers import (
    LossyProxy,
    fast_policy,
    page_of,
    partial_rows,
    read_rows,
    statuses,
    wait_for,
)

from kantata_async import APIConnectionError, KantataClient, WorkweekMembership
from kantata_async.export import Exporter, ExportProgress
from kantata_async.testing import FakeKantata, RecordedRequest

NESTED = ["account_membership.skill_memberships", "role"]


# == row 4: a write whose answer is lost ====================================================


@pytest.mark.parametrize("loss", ["answer-lost-after-the-write", "dropped-before-the-write"])
async def test_a_post_whose_connection_drops_is_not_retried(fake: FakeKantata, loss: str) -> None:
    user_id, start = "13", date(2030, 1, 6)
    assert start.weekday() == 6  # a Sunday, as the API requires
    assert user_id in visible(fake)
    before = {wm["id"] for wm in fake.dataset.workweek_memberships_of(user_id)}

    async with contextlib.AsyncExitStack() as stack:
        base_url = fake.base_url
        if loss == "answer-lost-after-the-write":
            proxy = await stack.enter_async_context(
                LossyProxy(fake, lambda method, target: "lose" if method == "POST" else "pass")
            )
            base_url = proxy.base_url
        else:
            fake.drop_next(path="workweek_memberships", method="POST")
        client = await stack.enter_async_context(
            KantataClient(fake.token, base_url=base_url, retry=fast_policy())
        )
        with pytest.raises(APIConnectionError) as info:
            await client.workweek_memberships.create(
                user_id=user_id, start_date=start, monday_minutes=300
            )
        assert client.transport.retries == 0
        assert client.transport.requests_sent == 1

    error = info.value
    assert type(error) is APIConnectionError  # not a timeout, not a status error
    assert error.request_sent is True
    assert (error.method, error.path) == ("POST", "workweek_memberships")
    assert "The request was sent, so the write may have happened; it was not retried." in str(error)
    [post] = fake.requests  # exactly one request reached the server: the POST, once
    assert post.method == "POST"
    assert post.json == {
        "workweek_membership": {"user_id": 13, "start_date": "2030-01-06", "monday_minutes": 300}
    }
    new = [wm for wm in fake.dataset.workweek_memberships_of(user_id) if wm["id"] not in before]
    if loss == "answer-lost-after-the-write":
        # The server carried the write out; only the answer was lost. Not retrying is what
        # keeps it from being made twice.
        assert post.status == 200
        assert [wm["start_date"] for wm in new] == ["2030-01-06"]
        workweek = fake.dataset.records["workweeks"][str(new[0]["workweek_id"])]
        assert workweek["monday_minutes"] == 300
        assert client.graph.get(WorkweekMembership, new[0]["id"]) is None  # never answered
    else:
        assert post.status is None
        assert new == []


# == row 5: cancelling an export ============================================================


@pytest.mark.parametrize(
    "where", ["mid-walk", "mid-walk-with-nested-includes", "in-a-retry-after-pause"]
)
async def test_cancelling_an_export_midway(fake: FakeKantata, tmp_path: Path, where: str) -> None:
    fake.latency = 0.01
    everyone = visible(fake)
    if where == "in-a-retry-after-pause":

        def rate_limit(request: RecordedRequest) -> None:
            if page_of(request) == 3:
                fake.fail_next(429, retry_after=60, path="users")  # the client pauses 60 s

        fake.on_request = rate_limit

    pages_written = 0

    def progress(p: ExportProgress) -> None:
        nonlocal pages_written
        pages_written = p.pages

    out = tmp_path / "users.ndjson"
    async with KantataClient(
        fake.token, base_url=fake.base_url, retry=fast_policy(), max_concurrency=2
    ) as client:
        transport = client.transport
        include = NESTED if where == "mid-walk-with-nested-includes" else []
        exporter = Exporter(client, "users", out, include=include, per_page=5, on_progress=progress)
        task = asyncio.create_task(exporter.run())
        await wait_for(lambda: pages_written >= 2, task)
        if where == "in-a-retry-after-pause":
            await wait_for(lambda: transport.retries >= 1, task)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            # A guard, not a measure: the cancel must not wait out the network or a pause.
            async with asyncio.timeout(10):
                await task
        for _ in range(5):
            await asyncio.sleep(0)
        assert sdk_tasks() == []

        summary = exporter.summary
        rows = read_rows(partial_rows(out, summary))
        ids = [row["id"] for row in rows]
        assert not summary.complete
        assert summary.records == len(rows) >= 10
        assert summary.records < len(everyone)
        assert len(ids) == len(set(ids))
        assert set(ids) <= everyone
        if where != "in-a-retry-after-pause":
            # No slot of the concurrency limit was lost with the cancelled requests.
            async with asyncio.timeout(10):
                again = [u.id async for u in client.users.list(per_page=5)]
            assert set(again) == everyone
        else:
            assert statuses(fake)[429] == 1
    assert transport.closed
    gc.collect()  # an unclosed session or connection would warn now, failing the test
    assert sdk_tasks() == []
