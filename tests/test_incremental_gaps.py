"""Incremental runs never leave a record behind, and their arguments are checked first.

A record deleted while a walk runs shifts the offset pages after it, so the walk returns
one record fewer than the server reported. An incremental export, a `changes()` feed and a
dlt load then keep the watermark where it was: a rerun from it asks for the same changes
and finds the record the first run missed. A `since` too early for the overlap to be
subtracted, or an `overlap` that is not a timedelta of zero or more, is a `ValueError`
before any request (exit status 2 on the command line), for export, `changes()`,
`kantata_source` and the CLI. All against a real local `FakeKantata`.
"""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import my_memberships
from dlt_helpers import delete_when_page_two_is_asked, new_pipeline, query, source
from threaded import Served

from kantata_async import KantataClient
from kantata_async.cli import main
from kantata_async.export import export
from kantata_async.sync import changes
from kantata_async.testing import FakeKantata

KEY = "workweek_memberships"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
HELD = "the watermark stays at"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KANTATA_TOKEN", raising=False)
    monkeypatch.delenv("KANTATA_BASE_URL", raising=False)
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")


async def first_page_ids(client: KantataClient, per_page: int) -> list[str]:
    page = await client.workweek_memberships.list(per_page=per_page)
    return [record.id for record in page.items]


def ndjson_ids(text: str) -> set[str]:
    return {json.loads(line)["id"] for line in text.splitlines()}


# -- a walk short of its count keeps the watermark -----------------------------------------


async def test_an_incremental_export_short_of_its_count_keeps_the_watermark(
    fake: FakeKantata, client: KantataClient
) -> None:
    """An export with `since=` whose walk returns fewer records than reported warns, keeps
    `summary.watermark` at `since`, and an export again from it brings the missed record."""
    victim = (await first_page_ids(client, 10))[0]
    delete_when_page_two_is_asked(fake, KEY, victim)
    first = io.StringIO()
    summary = await export(client, KEY, first, per_page=10, since=EPOCH)
    fake.on_request = None
    missed = set(my_memberships(fake)) - ndjson_ids(first.getvalue())
    assert missed  # offset paging skipped a record

    assert summary.complete
    assert any("records may have been missed" in w for w in summary.warnings)
    assert any(f"{HELD} {EPOCH.isoformat()}" in w for w in summary.warnings)
    assert summary.watermark is not None
    assert summary.watermark.at == EPOCH

    again = io.StringIO()
    await export(client, KEY, again, per_page=10, since=summary.watermark)
    assert missed <= ndjson_ids(again.getvalue())


async def test_a_changes_feed_short_of_its_count_keeps_the_watermark(
    fake: FakeKantata, client: KantataClient
) -> None:
    """A `changes()` feed whose walk returns fewer records than reported keeps its
    `watermark` at `since` and says so in `tracker.held`; the next run delivers the record."""
    victim = (await first_page_ids(client, 10))[0]
    delete_when_page_two_is_asked(fake, KEY, victim)
    first = changes(client.workweek_memberships.list, since=EPOCH, per_page=10)
    got = {wm.id async for wm in first}
    fake.on_request = None
    missed = set(my_memberships(fake)) - got
    assert missed

    assert first.watermark.at == EPOCH
    assert first.tracker.held is not None
    assert f"{HELD} {EPOCH.isoformat()}" in first.tracker.held

    second = changes(client.workweek_memberships.list, since=first.watermark, per_page=10)
    assert missed <= {wm.id async for wm in second}


def test_a_dlt_incremental_load_short_of_its_count_keeps_the_watermark(
    served: Served, tmp_path: Path
) -> None:
    """A dlt load whose walk returns fewer records than reported succeeds, calls
    `on_warning` naming the collection, and commits no watermark past the missed record:
    the next run loads it."""
    pytest.importorskip("dlt")
    from kantata_async.dlt import saved_watermark

    pipeline = new_pipeline(tmp_path)

    async def page_one() -> list[str]:
        async with KantataClient(served.token, base_url=served.url) as c:
            return await first_page_ids(c, 10)

    victim = asyncio.run(page_one())[0]
    delete_when_page_two_is_asked(served.fake, KEY, victim)
    warnings: list[str] = []
    pipeline.run(source(served, [KEY], per_page=10, max_concurrency=1, on_warning=warnings.append))
    served.fake.on_request = None

    def loaded() -> set[str]:
        return {row[0] for row in query(pipeline, f"SELECT id FROM {KEY}")}

    assert set(my_memberships(served.fake)) - loaded()  # the walk skipped a record
    [warning] = warnings
    assert warning.startswith(f"{KEY}: the server reported ")
    assert HELD in warning
    mark = saved_watermark(pipeline.state["sources"]["kantata"]["resources"][KEY])
    stamps = [datetime.fromisoformat(m["updated_at"]) for m in my_memberships(served.fake).values()]
    assert mark.at < min(stamps)

    pipeline.run(source(served, [KEY], per_page=10))
    assert set(my_memberships(served.fake)) <= loaded()  # the deleted one stays: merged


# -- since and overlap are checked before any request --------------------------------------


TOO_EARLY = [datetime.min.replace(tzinfo=UTC), datetime(1, 1, 1, 0, 3, tzinfo=UTC)]
TOO_EARLY_IDS = ["datetime.min", "year-1-plus-3-minutes"]


@pytest.mark.parametrize("since", TOO_EARLY, ids=TOO_EARLY_IDS)
@pytest.mark.parametrize("run", ["export", "changes"])
async def test_a_since_the_overlap_cannot_reach_back_from_is_a_value_error(
    fake: FakeKantata, client: KantataClient, since: datetime, run: str
) -> None:
    """A `since` within the overlap of `datetime.min` is a `ValueError` naming `since`,
    before any request, for `export` and for `changes()`."""
    with pytest.raises(ValueError, match=r"^since .* is too early to ask for changes"):
        if run == "export":
            await export(client, KEY, io.StringIO(), since=since)
        else:
            _ = [wm async for wm in changes(client.workweek_memberships.list, since=since)]
    assert fake.requests == []


@pytest.mark.parametrize("command", ["export", "load"])
def test_a_since_at_the_first_instant_is_a_usage_error(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str], command: str
) -> None:
    """`--since 0001-01-01T00:00:00Z` exits 2 with a one-line usage error naming `--since`,
    before any request, for `export` and `load`."""
    if command == "export":
        args = ["export", KEY, "--out", str(tmp_path / "out.ndjson")]
    else:
        pytest.importorskip("dlt")
        args = [
            "load",
            KEY,
            "--to",
            f"duckdb:///{tmp_path / 'warehouse.duckdb'}",
            "--pipelines-dir",
            str(tmp_path / "pipelines"),
        ]
    args += ["--base-url", served.url, "--token", served.token, "--since", "0001-01-01T00:00:00Z"]
    code = main(args)
    err = capfd.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    [line] = err.splitlines()
    assert line.startswith(f"kantata-async {command}: error: ")
    assert "is too early to ask for changes" in line
    assert served.fake.requests == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"overlap": timedelta(minutes=-1)}, "overlap must be a timedelta >= 0"),
        ({"overlap": 300}, "overlap must be a timedelta >= 0"),
        ({"since": datetime.min.replace(tzinfo=UTC)}, "is too early to ask for changes"),
    ],
    ids=["negative-overlap", "overlap-not-a-timedelta", "since-datetime.min"],
)
def test_kantata_source_checks_overlap_and_since_before_any_request(
    served: Served, options: dict[str, Any], message: str
) -> None:
    """`kantata_source` raises `ValueError` for a negative `overlap`, an `overlap` that is
    not a timedelta, and a `since` the overlap cannot reach back from, before any request."""
    pytest.importorskip("dlt")
    with pytest.raises(ValueError, match=message):
        source(served, [KEY], **options)
    assert served.fake.requests == []
