"""Incremental sync against the fake server: watermarks, overlap, no double delivery."""

from __future__ import annotations

import logging
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import my_memberships, visible

from kantata_async import KantataClient, WorkweekMembership
from kantata_async.sync import Watermark, changes
from kantata_async.testing import FakeKantata


def newest_stamp(fake: FakeKantata, key: str, before: datetime | None = None) -> datetime:
    stamps = [datetime.fromisoformat(r["updated_at"]) for r in fake.dataset.records[key].values()]
    return max(s for s in stamps if before is None or s < before)


async def test_a_first_sync_then_only_what_changed(
    fake: FakeKantata, client: KantataClient
) -> None:
    start = Watermark(datetime(2000, 1, 1, tzinfo=UTC))
    first = changes(client.workweek_memberships.list, since=start, include=["user"])
    got = [wm.id async for wm in first]
    assert sorted(got, key=int) == sorted(my_memberships(fake), key=int)
    assert first.watermark.at == newest_stamp(fake, "workweek_memberships")
    sent = fake.requests[0].query["updated_after"]
    assert datetime.fromisoformat(sent) == start.at - timedelta(minutes=5)

    # Nothing changed: the overlap window is fetched again, but nothing is delivered twice.
    second = changes(client.workweek_memberships.list, since=first.watermark)
    assert [wm async for wm in second] == []
    assert second.skipped >= 1
    assert second.watermark.at == first.watermark.at

    # Two memberships change: exactly those come, with the changed data.
    changed = sorted(fake.dataset.records["workweek_memberships"], key=int)[:2]
    for wm_id in changed:
        fake.dataset.update("workweek_memberships", wm_id, end_date="2030-01-04")
    third = changes(client.workweek_memberships.list, since=second.watermark)
    got3: list[WorkweekMembership] = [wm async for wm in third]
    assert sorted(wm.id for wm in got3) == changed
    assert all(str(wm.end_date) == "2030-01-04" for wm in got3)
    assert third.watermark.at == newest_stamp(fake, "workweek_memberships")


async def test_a_late_record_inside_the_overlap_is_not_missed(
    fake: FakeKantata, client: KantataClient
) -> None:
    first = changes(client.workweek_memberships.list, since=datetime(2000, 1, 1, tzinfo=UTC))
    _ = [wm async for wm in first]
    mark = first.watermark
    # A record that became visible late: written before the watermark, unseen by the first
    # run (replication lag), stamped two minutes before the mark.
    late = fake.dataset.add_workweek_membership("3", date(2031, 1, 5))
    late_stamp = (mark.at - timedelta(minutes=2)).isoformat()
    fake.dataset.update("workweek_memberships", late["id"], updated_at=late_stamp)
    second = changes(client.workweek_memberships.list, since=mark)
    got = {wm.id async for wm in second}
    # The late record, and the user's previous membership, which now ends before it starts.
    changed_since = {
        i
        for i, r in fake.dataset.records["workweek_memberships"].items()
        if datetime.fromisoformat(r["updated_at"]) > mark.at
    }
    assert late["id"] not in changed_since
    assert got == {late["id"], *changed_since}
    # ... and the run after that does not deliver it again.
    third = changes(client.workweek_memberships.list, since=second.watermark)
    assert [wm.id async for wm in third] == []


async def test_users_have_no_updated_at_so_the_run_start_is_the_mark(
    fake: FakeKantata, client: KantataClient
) -> None:
    now = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    feed = changes(client.users.list, since=datetime(2000, 1, 1, tzinfo=UTC), clock=lambda: now)
    count = len([u async for u in feed])
    assert count == len(visible(fake))
    assert feed.watermark.at == now
    assert feed.watermark.recent == frozenset()


async def test_watermarks_survive_a_state_file(tmp_path: Path) -> None:
    mark = Watermark(
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), {("7", "2026-01-02T03:04:05+00:00")}
    )
    path = tmp_path / "state.json"
    mark.save(path)
    assert Watermark.load(path) == mark
    assert sorted(os.listdir(tmp_path)) == ["state.json"]  # no temporary file left
    for text in (
        "{}",
        '{"at": "2026-01-02T03:04:05+00:00", "recent": {"ab": 1}}',  # not a list of pairs
        '{"at": "2026-01-02T03:04:05+00:00", "recent": [["7"]]}',
        '{"at": "2026-01-02T03:04:05+00:00", "recent": [[7, "2026-01-02"]]}',
        '{"at": "2026-01-02T03:04:05"}',  # naive
    ):
        with pytest.raises(ValueError, match="not a kantata_async watermark"):
            Watermark.loads(text)


async def test_bad_arguments(client: KantataClient) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        changes(client.users.list, since=datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="comes from the watermark"):
        changes(
            client.users.list,
            since=datetime(2026, 1, 1, tzinfo=UTC),
            updated_after=datetime(2026, 1, 1, tzinfo=UTC),
        )
    with pytest.raises(ValueError, match="overlap must be a timedelta >= 0"):
        changes(client.users.list, since=datetime(2026, 1, 1, tzinfo=UTC), overlap=timedelta(-1))
    feed = changes(client.users.list, since=datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(RuntimeError, match="has not finished"):
        _ = feed.watermark
    _ = [u async for u in feed]
    with pytest.raises(RuntimeError, match="iterated once"):
        _ = [u async for u in feed]


async def test_a_future_dated_record_does_not_end_incremental_sync(
    fake: FakeKantata, client: KantataClient, caplog: pytest.LogCaptureFixture
) -> None:
    memberships = sorted(fake.dataset.records["workweek_memberships"], key=int)
    future, later = memberships[0], memberships[1]
    fake.dataset.update("workweek_memberships", future, updated_at="2099-01-01T00:00:00+00:00")
    start = newest_stamp(fake, "workweek_memberships", before=datetime(2090, 1, 1, tzinfo=UTC))
    run_start = start + timedelta(minutes=1)

    with caplog.at_level(logging.WARNING, logger="kantata_async"):
        first = changes(
            client.workweek_memberships.list,
            since=datetime(2000, 1, 1, tzinfo=UTC),
            clock=lambda: run_start,
        )
        assert future in {wm.id async for wm in first}
    # The server's 2099 does not become the watermark: this run's start does.
    assert first.watermark.at == run_start
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert f"workweek_memberships {future}" in warning.getMessage()
    assert "2099-01-01" in warning.getMessage()

    # A change after the first run is delivered by the next; the 2099 record, delivered
    # already, is not delivered again.
    changed = fake.dataset.update("workweek_memberships", later, end_date="2031-01-04")
    second_start = datetime.fromisoformat(changed["updated_at"]) + timedelta(minutes=1)
    second = changes(
        client.workweek_memberships.list, since=first.watermark, clock=lambda: second_start
    )
    assert {wm.id async for wm in second} == {later}
    assert second.watermark.at == second_start  # the 2099 record came again: capped again


async def test_records_changed_during_the_run_cap_the_mark_without_a_warning(
    fake: FakeKantata, client: KantataClient, caplog: pytest.LogCaptureFixture
) -> None:
    # The run "started" a second before the newest change: a record written while it ran.
    newest = newest_stamp(fake, "workweek_memberships")
    run_start = newest - timedelta(seconds=1)
    with caplog.at_level(logging.WARNING, logger="kantata_async"):
        feed = changes(
            client.workweek_memberships.list,
            since=datetime(2000, 1, 1, tzinfo=UTC),
            clock=lambda: run_start,
        )
        _ = [wm async for wm in feed]
    assert feed.watermark.at == run_start
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    # The next run asks from before that record and does not deliver it again.
    again = changes(client.workweek_memberships.list, since=feed.watermark)
    assert [wm async for wm in again] == []
    assert again.skipped >= 1
