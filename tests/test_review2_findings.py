"""Second review: export, incremental sync, the dlt source and `kantata-async load`.

Each test FAILS on main at the time of the review (a real bug). Every one runs against a
real local `FakeKantata` (in the test's loop, or served from a thread for code that runs
its own loop: the command line, a dlt pipeline). The docstring of each says what the
README (or the SDK's stated promises) requires, and what happens instead. The promises:

- users run it unattended over their company's data: nothing is lost or duplicated
  silently, and a run that reports `complete` is complete;
- odd or hostile server input gets correct handling, a typed error (`KantataError`) or an
  incomplete result the caller sees;
- a bad argument is a `ValueError` (exit status 2 on the command line) before any request;
- the token, and a password in the destination, never appear in output, errors or logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import my_memberships
from dlt.pipeline.exceptions import PipelineStepFailed
from threaded import Served

from kantata_async import KantataClient, PayloadError, RetryPolicy
from kantata_async.cli import main
from kantata_async.export import export
from kantata_async.sync import changes
from kantata_async.testing import FakeKantata, RecordedRequest

INSTANT = RetryPolicy.instant(max_retries=0)
KEY = "workweek_memberships"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.fixture
async def fake() -> AsyncIterator[FakeKantata]:
    async with FakeKantata(users=60, seed=5) as server:
        yield server


@pytest.fixture
async def client(fake: FakeKantata) -> AsyncIterator[KantataClient]:
    async with KantataClient(fake.token, base_url=fake.base_url, retry=INSTANT) as c:
        yield c


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KANTATA_TOKEN", raising=False)
    monkeypatch.delenv("KANTATA_BASE_URL", raising=False)
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")


def _envelope(key: str, records: dict[str, dict[str, Any]], **sideloads: Any) -> dict[str, Any]:
    """A one-page list envelope, as `fake.fail_next(200, body=...)` serves it."""
    ids = list(records)
    return {
        "count": len(ids),
        "meta": {"count": len(ids), "page_count": 1, "page_number": 1, "page_size": 200},
        "results": [{"key": key, "id": i} for i in ids],
        key: records,
        **sideloads,
    }


async def _first_page_ids(client: KantataClient, per_page: int) -> list[str]:
    page = await client.workweek_memberships.list(per_page=per_page)
    return [record.id for record in page.items]


def _delete_when_page_two_is_asked(fake: FakeKantata, victim: str) -> None:
    """Delete `victim` (on page 1) as page 2 is asked for: offset paging then shifts the
    first record of page 2 onto page 1, which the walk has already read."""
    done: list[bool] = []

    def hook(request: RecordedRequest) -> None:
        if request.path == KEY and request.query.get("page") == "2" and not done:
            done.append(True)
            fake.dataset.delete(KEY, victim)

    fake.on_request = hook


# -- a record skipped by offset paging is lost for good by incremental runs ------------------


async def test_an_incremental_export_that_warns_of_missed_records_lets_a_rerun_find_them(
    fake: FakeKantata, client: KantataClient
) -> None:
    """A record deleted while an incremental export (`since=`) walks the pages makes offset
    paging skip another record. The export notices (fewer records than reported) and says
    in `summary.warnings`: "records may have been missed ... export again to pick up any
    that were missed". Expected: doing what it says, exporting again from the watermark it
    returned (`summary.watermark`, what `--watermark-out` saves), brings the missed record;
    or the export does not hand out a watermark past records it may have missed.
    Observed: `summary.watermark` is the newest `updated_at` seen, far past the skipped
    record's own (unchanged) `updated_at`, so the rerun asks only for what changed since
    and never delivers it: the record is lost to every later incremental run. Root cause:
    `Exporter.run` (`_exporter.py`) calls `ChangeTracker.finish()` whatever the walk's
    count drift; the tracker knows nothing of records the walk may have skipped."""
    victim = (await _first_page_ids(client, 10))[0]
    _delete_when_page_two_is_asked(fake, victim)
    first = io.StringIO()
    summary = await export(client, KEY, first, per_page=10, since=EPOCH)
    fake.on_request = None
    assert summary.complete
    assert any("missed" in w for w in summary.warnings)  # it knows
    written = {json.loads(line)["id"] for line in first.getvalue().splitlines()}
    missed = set(my_memberships(fake)) - written
    assert missed  # offset paging skipped a record

    assert summary.watermark is not None
    again = io.StringIO()
    await export(client, KEY, again, per_page=10, since=summary.watermark)
    rerun = {json.loads(line)["id"] for line in again.getvalue().splitlines()}
    assert missed <= rerun, f"{sorted(missed)} never delivered by the rerun the warning advises"


async def test_a_changes_feed_never_loses_a_record_offset_paging_skipped(
    fake: FakeKantata, client: KantataClient
) -> None:
    """`changes()` walks offset pages like an export. A record deleted during the walk
    makes it skip another, unchanged record; the feed says nothing (it has no counts) and
    its `watermark` moves to the newest `updated_at` seen. Expected (README, Incremental
    sync: "so records that became visible late are not missed"): the next run from that
    watermark delivers the skipped record, or the feed reports that it may have missed
    records instead of handing out a watermark past them. Observed: the next run delivers
    nothing and the record is never delivered by any later run. Root cause:
    `Changes._run` / `ChangeTracker.finish` (`sync.py`) ignore the walk's `stats`
    (`reported_count` vs records) when computing the next watermark."""
    victim = (await _first_page_ids(client, 10))[0]
    _delete_when_page_two_is_asked(fake, victim)
    first = changes(client.workweek_memberships.list, since=EPOCH, per_page=10)
    got = {wm.id async for wm in first}
    fake.on_request = None
    missed = set(my_memberships(fake)) - got
    assert missed

    second = changes(client.workweek_memberships.list, since=first.watermark, per_page=10)
    again = {wm.id async for wm in second}
    assert missed <= again, f"{sorted(missed)} never delivered again"


# -- arguments -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "since",
    [datetime.min.replace(tzinfo=UTC), datetime(1, 1, 1, 0, 3, tzinfo=UTC)],
    ids=["datetime.min", "year-1-plus-3-minutes"],
)
async def test_a_since_the_overlap_cannot_reach_back_from_is_a_value_error(
    fake: FakeKantata, client: KantataClient, since: datetime
) -> None:
    """`export(..., since=...)` and `changes(...)` take any aware datetime; the docstring
    promises `ValueError` before any request for a bad argument. A `since` within the
    overlap (5 minutes) of `datetime.min` cannot have the overlap subtracted. Expected: a
    `ValueError` naming `since` (or the export running from the earliest time it can ask
    for). Observed: a bare `OverflowError: date value out of range` from
    `ChangeTracker.updated_after` (`since.at - overlap`, `sync.py`), raised by
    `Exporter.__init__` and by the first step of the `changes()` feed."""
    for run in ("export", "changes"):
        try:
            if run == "export":
                await export(client, KEY, io.StringIO(), since=since)
            else:
                _ = [wm async for wm in changes(client.workweek_memberships.list, since=since)]
        except ValueError:
            continue
        except Exception as err:  # the test reports what it got
            pytest.fail(f"{run}(since={since!r}) raised {type(err).__name__}: {err}")


@pytest.mark.parametrize("command", ["export", "load"])
def test_a_since_at_the_first_instant_is_a_usage_error_not_a_traceback(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str], command: str
) -> None:
    """`--since 0001-01-01T00:00:00Z` is an aware ISO 8601 datetime, so `parse_since` takes
    it. README: exit status 2 for a usage error (before any request), 1 for an API,
    connection or file error. Expected: exit status 2 with a one-line
    `kantata-async export: error: --since ...` (or a run from the earliest time).
    Observed: `export` dies with a Python traceback (`OverflowError: date value out of
    range` from `ChangeTracker.updated_after`, raised in `cli._prepare` outside its
    `(UsageError, ValueError)` net); `load` gets past the checks and fails in dlt's extract
    step. Root cause: `_cli_args.parse_since` / `sync.Watermark` accept a time the overlap
    cannot be subtracted from."""
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
    try:
        code = main(args)
    except Exception as err:  # the test reports what it got
        pytest.fail(f"main() raised {type(err).__name__}: {err}")
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert code == 2, err
    assert served.fake.requests == []


# -- the dlt source ----------------------------------------------------------------------


@pytest.fixture
def pipeline(tmp_path: Path) -> Any:
    dlt = pytest.importorskip("dlt")
    return dlt.pipeline(
        pipeline_name=f"kantata_{uuid.uuid4().hex[:8]}",
        destination=dlt.destinations.duckdb(str(tmp_path / "load.duckdb")),
        dataset_name="kantata",
        pipelines_dir=str(tmp_path / "pipelines"),
    )


def _source(served: Served, resources: list[str], **options: Any) -> Any:
    from kantata_async.dlt import kantata_source

    return kantata_source(token=served.token, base_url=served.url, resources=resources, **options)


def _query(pipeline: Any, sql: str) -> list[tuple[Any, ...]]:
    with pipeline.sql_client() as sql_client:
        return list(sql_client.execute_sql(sql))


def _page_one_ids(served: Served, per_page: int) -> list[str]:
    async def ask() -> list[str]:
        async with KantataClient(served.token, base_url=served.url, retry=INSTANT) as c:
            return await _first_page_ids(c, per_page)

    return asyncio.run(ask())


def test_a_dlt_incremental_load_never_loses_a_record_skipped_mid_walk(
    served: Served, pipeline: Any
) -> None:
    """The dlt source walks offset pages as the export does. A record deleted during the
    walk makes it skip another, unchanged record. Unlike the export, nothing notices (no
    count check, no warning, the run succeeds) and the watermark committed with the rows
    is the newest `updated_at` seen, past the skipped record's. Expected (README: "loads
    only what changed since the previous run" with the sync's semantics; the promise that
    nothing is lost silently): after a second, undisturbed run the table holds every record
    the server lists; or the first run fails / does not move the watermark past what it may
    have missed. Observed: the skipped record is never loaded, by this run or any later
    one (only a `refresh` would bring it). Root cause: `kantata_async.dlt._rows` commits
    `tracker.finish()` without comparing the walk's `stats.records` (+ skipped) with
    `stats.reported_count`."""
    victim = _page_one_ids(served, 10)[0]
    _delete_when_page_two_is_asked(served.fake, victim)
    with contextlib.suppress(Exception):  # failing the run loudly is a fine answer too
        pipeline.run(_source(served, [KEY], per_page=10, max_concurrency=1))
    served.fake.on_request = None
    pipeline.run(_source(served, [KEY], per_page=10))

    loaded = {row[0] for row in _query(pipeline, f"SELECT id FROM {KEY}")}
    missing = set(my_memberships(served.fake)) - loaded
    assert not missing, f"{sorted(missing)} listed by the server, never loaded"


def test_kantata_source_checks_overlap_and_since_before_any_request() -> None:
    """`kantata_source` docstring: "Every argument is checked here, before any request".
    Expected: a negative `overlap` (which `ChangeTracker` refuses), an `overlap` that is not
    a timedelta, and a `since` the overlap cannot be subtracted from raise `ValueError` /
    `TypeError` from `kantata_source(...)`. Observed: all three are accepted; they fail
    only inside dlt's extract step (wrapped in dlt's `PipelineStepFailed`), after other
    resources of the run may have been walked. Root cause: `kantata_source` (`dlt.py`)
    never builds a `ChangeTracker` (or checks `overlap`) until `_rows` runs."""
    pytest.importorskip("dlt")
    from kantata_async.dlt import kantata_source

    accepted = []
    for options in (
        {"overlap": timedelta(minutes=-1)},
        {"overlap": 300},
        {"since": datetime.min.replace(tzinfo=UTC)},
    ):
        try:
            kantata_source(
                token="tok-" + "1" * 20,
                base_url="http://127.0.0.1:9/api/v1/",
                resources=[KEY],
                **options,
            )
        except (ValueError, TypeError):
            continue
        accepted.append(options)
    assert accepted == []


def test_server_fields_named_like_dlt_columns_cannot_mix_up_child_rows(
    served: Served, pipeline: Any
) -> None:
    """A server field named like one of dlt's own columns (`_dlt_id`, which links child
    rows to their parent) fails the load with a `PayloadError` naming it, before dlt sees
    the row: nothing of the table is loaded, nothing is mixed up."""
    users = {
        "8": {"id": "8", "full_name": "Bea", "_dlt_id": "same", "skill_ids": ["1", "2"]},
        "9": {"id": "9", "full_name": "Cy", "_dlt_id": "same", "skill_ids": ["3"]},
    }
    served.call(lambda: served.fake.fail_next(200, body=_envelope("users", users), path="users"))
    with pytest.raises(PipelineStepFailed) as caught:
        pipeline.run(_source(served, ["users"]))
    cause = _root_cause(caught.value)
    assert isinstance(cause, PayloadError)
    assert "'_dlt_id' would load into dlt's own column" in str(cause)
    assert "users" not in _tables(pipeline)


@pytest.mark.parametrize(
    ("fields", "clash"),
    [
        ({"a": {"b": "nested"}, "a__b": "flat-value"}, "'a.b' and 'a__b'"),
        ({"role__name": "field-value"}, "'role__name' and 'role.name'"),
        ({"Name": "x", "name": "y"}, "'Name' and 'name'"),
    ],
)
def test_two_fields_dlt_flattens_to_one_column_fail_the_load(
    served: Served, pipeline: Any, fields: dict[str, Any], clash: str
) -> None:
    """dlt flattens `{"a": {"b": ...}}` into the column `a__b` and folds names to snake
    case: a record whose fields would share one column (a value would be lost) fails the
    load with a `PayloadError` naming both fields."""
    users = {"7": {"id": "7", "full_name": "Ann", "role_id": "3", **fields}}
    body = _envelope("users", users, roles={"3": {"id": "3", "name": "Designer"}})
    served.call(lambda: served.fake.fail_next(200, body=body, path="users"))
    with pytest.raises(PipelineStepFailed) as caught:
        pipeline.run(_source(served, ["users"], include={"users": ["role"]}))
    cause = _root_cause(caught.value)
    assert isinstance(cause, PayloadError)
    assert clash in str(cause)
    assert "users" not in _tables(pipeline)


def _root_cause(err: BaseException) -> BaseException:
    while err.__cause__ is not None or err.__context__ is not None:
        err = err.__cause__ or err.__context__  # type: ignore[assignment]
    return err


def _tables(pipeline: Any) -> set[str]:
    try:
        return {
            name for (name,) in _query(pipeline, "SELECT table_name FROM information_schema.tables")
        }
    except Exception:  # no dataset yet
        return set()


# -- the command line --------------------------------------------------------------------


def test_a_password_in_the_destination_query_string_is_never_printed(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """libpq (and SQLAlchemy URLs) take the password as a query parameter too:
    `postgresql://loader@host/db?password=...`. README: "The token is never printed, nor a
    password in the destination URL." Expected: the password appears nowhere in the
    output, whatever the outcome. Observed: the first line printed is
    `kantata-async: loading users into postgresql://loader@127.0.0.1:9/warehouse?password=...`
    with the password in clear. Root cause: `_cli_load._destination` only redacts
    `url.password` (the userinfo part), not a `password` query parameter."""
    pytest.importorskip("dlt")
    secret = "pa55-w0rd-in-query"
    code = main(
        [
            "load",
            "users",
            "--base-url",
            served.url,
            "--token",
            served.token,
            "--pipelines-dir",
            str(tmp_path / "pipelines"),
            "--to",
            f"postgresql://loader@127.0.0.1:9/warehouse?password={secret}",
        ]
    )
    captured = capfd.readouterr()
    assert code in (1, 2)  # no Postgres driver or server here: an error either way
    assert secret not in captured.err
    assert secret not in captured.out


# -- odd numbers -------------------------------------------------------------------------


async def test_an_integer_beyond_64_bits_is_exported_exactly_or_refused(
    fake: FakeKantata, client: KantataClient
) -> None:
    """`_json` says both decoders (orjson with the `fast` extra, the standard library
    without) "refuse the same things, so a response means the same with or without the
    extra". A field holding an integer wider than 64 bits
    (`123456789012345678901234567890`) is exact with the standard library. Expected: the
    NDJSON row holds that exact integer, or the page is refused with a typed error.
    Observed (orjson installed): the row holds `1.2345678901234568e+29`, the number rounded
    to a float, and the export reports `complete` with no warning. Root cause:
    `_json.loads = orjson.loads`, which turns integers beyond 64 bits into floats."""
    raw = (
        b'{"count":1,"meta":{"count":1,"page_count":1,"page_number":1,"page_size":200},'
        b'"results":[{"key":"users","id":"7"}],'
        b'"users":{"7":{"id":"7","full_name":"Ann","big":123456789012345678901234567890}}}'
    )
    fake.fail_next(200, body=raw, path="users", content_type="application/json")
    out = io.StringIO()
    try:
        await export(client, "users", out)
    except Exception as err:  # a typed refusal is a fine answer
        from kantata_async import KantataError

        assert isinstance(err, KantataError)
        return
    [line] = out.getvalue().splitlines()
    assert json.loads(line)["big"] == 123456789012345678901234567890, line


def test_load_says_nothing_when_the_server_ends_the_list_early(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Page 2 comes back empty (200, `results: []`) while page 1 announced more pages: a
    proxy or a server under load cutting the list short. The walk ends there, as it should
    (an empty page ends it). The export then warns "the server reported N ... but M
    arrived ... records may have been missed" (README, Exporting). Expected from `load`
    (exit 0 means "loaded"): the same warning in its report, or a non-zero exit, and no
    watermark past what was missed. Observed: exit 0, a summary of the 10 rows loaded and
    "incremental, watermark ...", not a word about the other records; the watermark is
    committed, so later runs never load them either. Root cause: `kantata_async.dlt._rows`
    never compares the walk's `stats` with the reported count, and `_cli_load` has no
    warning to print."""
    pytest.importorskip("dlt")
    total = len(my_memberships(served.fake))
    empty = {
        "count": total,
        "meta": {"count": total, "page_count": -(-total // 10), "page_number": 2, "page_size": 10},
        "results": [],
        KEY: {},
    }

    def cut_after_page_one(request: RecordedRequest) -> None:
        if request.path == KEY and request.query.get("page") == "1":
            served.fake.fail_next(200, body=empty, path=KEY)

    served.fake.on_request = cut_after_page_one
    code = main(
        [
            "load",
            KEY,
            "--base-url",
            served.url,
            "--token",
            served.token,
            "--to",
            f"duckdb:///{tmp_path / 'warehouse.duckdb'}",
            "--pipelines-dir",
            str(tmp_path / "pipelines"),
            "--per-page",
            "10",
            "--concurrency",
            "1",
        ]
    )
    served.fake.on_request = None
    err = capfd.readouterr().err
    assert total > 10
    assert code != 0 or "warning" in err.lower(), err


def test_a_duckdb_file_named_like_the_dataset_in_another_case_is_a_usage_error(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """`_destination` refuses `--to duckdb:///kantata_data.duckdb` with the default dataset
    `kantata_data` up front ("must differ from the DuckDB file's name": DuckDB cannot tell
    the two apart), exit 2 before any request. DuckDB names are case-insensitive, so
    `Kantata_Data.duckdb` clashes just the same. Expected: exit 2, the same usage error,
    no request. Observed: the check passes (`database.stem == dataset` is case-sensitive),
    the collection is walked, and the load step fails with "Binder Error: Ambiguous
    reference to catalog or schema" (exit 1), leaving an extracted package pending.
    Root cause: `_cli_load._destination` compares names case-sensitively."""
    pytest.importorskip("dlt")
    code = main(
        [
            "load",
            "users",
            "--base-url",
            served.url,
            "--token",
            served.token,
            "--to",
            f"duckdb:///{tmp_path / 'Kantata_Data.duckdb'}",
            "--pipelines-dir",
            str(tmp_path / "pipelines"),
        ]
    )
    err = capfd.readouterr().err
    assert code == 2, err
    assert served.fake.requests == []
