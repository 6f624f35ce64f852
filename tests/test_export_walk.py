"""An export writes each record once while the list shifts, its count lies or 429s come."""

from __future__ import annotations

import gc
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import my_memberships
from export_helpers import NESTED, read_ndjson, visible_users

from kantata_async import KantataClient, RetryPolicy, User
from kantata_async.export import ExportProgress, export
from kantata_async.testing import FakeKantata, RecordedRequest


def fast_client(fake: FakeKantata, **kwargs: Any) -> KantataClient:
    policy = RetryPolicy.instant(max_retries=8)
    return KantataClient(fake.token, base_url=fake.base_url, retry=policy, **kwargs)


@pytest.mark.parametrize("offset", [-13, 45])
async def test_every_record_once_when_the_count_lies(
    fake: FakeKantata, client: KantataClient, tmp_path: Path, offset: int
) -> None:
    fake.count_offset = offset
    out = tmp_path / "users.ndjson"
    summary = await export(client, "users", out, per_page=10, concurrency=3)
    ids = [row["id"] for row in read_ndjson(out)]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(visible_users(fake))
    assert summary.complete
    assert summary.records == len(ids)
    assert summary.count_drift == -offset


async def test_every_record_once_through_random_429s(tmp_path: Path) -> None:
    async with FakeKantata(users=150, seed=9) as fake:
        fake.random_faults(rate_429=0.3, retry_after=0, seed=3)
        out = tmp_path / "users.ndjson"
        async with fast_client(fake) as client:
            summary = await export(client, "users", out, include=NESTED, per_page=10, concurrency=4)
            assert summary.retries == client.transport.retries > 0
        rows = read_ndjson(out)
        ids = [row["id"] for row in rows]
        assert len(ids) == len(set(ids))
        assert set(ids) == set(visible_users(fake))
        assert all(isinstance(r["account_membership"]["skill_memberships"], list) for r in rows)
        assert summary.complete
        assert summary.requests == len(fake.requests) > summary.retries


async def test_records_shifting_between_pages_are_written_once(
    fake: FakeKantata, client: KantataClient, tmp_path: Path
) -> None:
    # A user that sorts first appears while the walk runs: offset paging shifts every later
    # record one place down, so the next page repeats the previous page's last record.
    def insert_once(request: RecordedRequest) -> None:
        if request.path == "users" and request.query.get("page") == "2":
            fake.on_request = None
            fake.dataset.add_user(full_name="Aaron Aardvark")

    fake.on_request = insert_once
    out = tmp_path / "users.ndjson"
    summary = await export(client, "users", out, per_page=10, concurrency=1)
    ids = [row["id"] for row in read_ndjson(out)]
    assert len(ids) == len(set(ids)) == summary.records
    assert summary.duplicates == 1
    assert summary.complete


async def test_progress_after_each_page(client: KantataClient, fake: FakeKantata) -> None:
    seen: list[ExportProgress] = []
    summary = await export(
        client, "users", io.StringIO(), per_page=10, concurrency=2, on_progress=seen.append
    )
    assert len(seen) == summary.pages
    assert [p.pages for p in seen] == list(range(1, summary.pages + 1))
    assert [p.records for p in seen] == sorted(p.records for p in seen)
    assert seen[-1].records == summary.records
    assert seen[-1].requests == len(fake.requests)
    assert all(p.reported_count == summary.reported_count for p in seen)
    assert all(p.retries == 0 for p in seen)
    assert all(p.rate >= 0 for p in seen)


async def test_memory_stays_bounded_while_rows_stream(tmp_path: Path) -> None:
    # Includes whose targets link nothing back: with `skill_memberships`, each skill's
    # inverse list (`skill.skill_memberships`, held strongly by the graph) ties every user
    # sharing a skill together, which is the graph's to solve, not the export's.
    per_page, width = 20, 2
    live: list[int] = []
    async with FakeKantata(users=400, seed=2) as fake, fast_client(fake) as client:

        def check(progress: ExportProgress) -> None:
            gc.collect()
            live.append(client.graph.count(User))

        summary = await export(
            client,
            "users",
            tmp_path / "users.ndjson",
            include=["account_membership", "role"],
            per_page=per_page,
            concurrency=width,
            on_progress=check,
        )
        assert summary.records > 300
        # Only the pages in hand are alive, never everything written so far.
        assert max(live) <= per_page * (width + 2)
        gc.collect()
        assert client.graph.count(User) == 0


async def test_a_rerun_that_skips_what_went_out_before_is_not_drift(
    fake: FakeKantata, client: KantataClient
) -> None:
    since = datetime(2000, 1, 1, tzinfo=UTC)
    first = await export(client, "workweek_memberships", io.StringIO(), since=since)
    every = len(my_memberships(fake))
    assert (first.records, first.skipped, first.count_drift) == (every, 0, 0)
    assert first.watermark is not None

    seen: list[ExportProgress] = []
    again = await export(
        client,
        "workweek_memberships",
        io.StringIO(),
        since=first.watermark,
        on_progress=seen.append,
    )
    # The overlap window came again and was delivered before: skipped, not missing.
    assert again.complete
    assert again.records == 0
    assert again.reported_count is not None
    assert again.skipped == again.reported_count > 0
    assert again.count_drift == 0
    assert seen[-1].skipped == again.skipped


async def test_fewer_records_than_reported_is_a_warning_in_the_summary(
    fake: FakeKantata, client: KantataClient, tmp_path: Path
) -> None:
    # A user of page 1 is deleted once page 1 is served: offset paging shifts every later
    # user one place up, and the first user of page 2 is never served.
    def delete_once(request: RecordedRequest) -> None:
        if request.path == "users" and request.query.get("page") == "2":
            fake.on_request = None
            first_page = sorted(visible_users(fake).values(), key=lambda u: u["full_name"])[:10]
            fake.dataset.delete("users", first_page[3]["id"])

    fake.on_request = delete_once
    total = len(visible_users(fake))
    out = tmp_path / "users.ndjson"
    summary = await export(client, "users", out, per_page=10, concurrency=1)
    assert summary.complete
    assert summary.count_drift == -1
    [warning] = summary.warnings
    assert f"the server reported {total} users but {total - 1} arrived (1 fewer)" in warning
    assert "may have been missed" in warning

    # More than reported (a record added meanwhile, or a count too low) misses nothing.
    fake.count_offset = -5
    assert (await export(client, "users", out, per_page=10)).warnings == ()
