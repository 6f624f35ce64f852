"""`kantata_async.export`, through the real client, against the fake server."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import gc
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from aiohttp import web
from conftest import my_memberships, visible
from servers import AppServer

from kantata_async import (
    AccountMembership,
    KantataClient,
    KantataError,
    RetryPolicy,
    Role,
    ServerError,
    User,
    WorkweekMembership,
)
from kantata_async.export import Exporter, ExportError, ExportProgress, export
from kantata_async.testing import FakeKantata, RecordedRequest

NESTED = ["account_membership.skill_memberships", "role"]
DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MINUTES = [f"{day}_minutes" for day in DAYS]


def visible_users(fake: FakeKantata) -> dict[str, dict[str, Any]]:
    """The users `GET /users` lists by default, by id."""
    return {uid: fake.dataset.records["users"][uid] for uid in visible(fake)}


def read_ndjson(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n")  # whole lines only
    return [json.loads(line) for line in text.splitlines()]


def declared(cls: type[Any]) -> list[str]:
    return [f.name for f in attrs.fields(cls)]


def fast_client(fake: FakeKantata, **kwargs: Any) -> KantataClient:
    policy = RetryPolicy.instant(max_retries=8)
    return KantataClient(fake.token, base_url=fake.base_url, retry=policy, **kwargs)


async def test_ndjson_rows_embed_the_include_tree(
    fake: FakeKantata, client: KantataClient, tmp_path: Path
) -> None:
    out = tmp_path / "users.ndjson"
    summary = await export(client, "users", out, include=NESTED, per_page=20)

    rows = read_ndjson(out)
    users = visible_users(fake)
    assert sorted(r["id"] for r in rows) == sorted(users)
    records = fake.dataset.records
    for row in rows:
        user = users[row["id"]]
        assert row["full_name"] == user["full_name"]
        assert row["email_address"] == user["email_address"]
        assert next(iter(row)) == "id"
        # Neither asked for (optional field) nor included (manager): absent, not null.
        assert "bio" not in row
        assert "manager_id" not in row
        assert "manager" not in row
        role = records["roles"][user["role_id"]]
        assert row["role"]["id"] == role["id"]
        assert row["role"]["name"] == role["name"]
        assert row["role"]["created_at"] == role["created_at"]
        membership = row["account_membership"]
        expected_am = records["account_memberships"][user["account_membership_id"]]
        assert membership["id"] == expected_am["id"]
        assert membership["user_id"] == row["id"]
        assert membership["permission"] == expected_am["permission"]
        skill_memberships = membership["skill_memberships"]
        assert [sm["id"] for sm in skill_memberships] == expected_am["skill_membership_ids"]
        for sm in skill_memberships:
            expected_sm = records["skill_memberships"][sm["id"]]
            assert sm["level"] == expected_sm["level"]
            assert sm["cached_skill_name"] == expected_sm["cached_skill_name"]
            assert "skill" not in sm  # one level deeper than asked

    assert summary.complete
    assert summary.records == len(rows) == len(users)
    assert summary.duplicates == 0
    assert summary.count_drift == 0
    assert summary.reported_count == len(users)
    assert summary.pages == -(-len(users) // 20)
    assert summary.requests == len(fake.requests)
    assert summary.output == out
    assert summary.format == "ndjson"


async def test_csv_header_comes_from_the_models_and_relations_flatten(
    fake: FakeKantata, client: KantataClient, tmp_path: Path
) -> None:
    out = tmp_path / "users.csv"
    summary = await export(client, "users", out, include=NESTED, format="csv")

    with out.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [dict(zip(header, line, strict=True)) for line in reader]
    assert header == [
        *declared(User),
        *(f"account_membership.{name}" for name in declared(AccountMembership)),
        "account_membership.skill_memberships",
        *(f"role.{name}" for name in declared(Role)),
    ]
    users = visible_users(fake)
    assert summary.records == len(rows) == len(users)
    records = fake.dataset.records
    for row in rows:
        user = users[row["id"]]
        assert row["full_name"] == user["full_name"]
        assert row["bio"] == ""  # not loaded: empty
        assert row["manager_id"] == ""
        assert row["disabled"] == "false"
        assert row["role.name"] == records["roles"][user["role_id"]]["name"]
        am = records["account_memberships"][user["account_membership_id"]]
        assert row["account_membership.id"] == am["id"]
        assert row["account_membership.bill_rate_in_cents"] == str(am["bill_rate_in_cents"])
        assert row["account_membership.is_owner"] == ("true" if am["is_owner"] else "false")
        assert row["account_membership.disabled_at"] == ""  # null: empty
        assert (
            json.loads(row["account_membership.skill_membership_ids"])
            == (am["skill_membership_ids"])
        )
        embedded = json.loads(row["account_membership.skill_memberships"])
        assert [sm["id"] for sm in embedded] == am["skill_membership_ids"]
        assert [sm["level"] for sm in embedded] == [
            records["skill_memberships"][i]["level"] for i in am["skill_membership_ids"]
        ]


async def test_csv_of_no_records_is_the_header_alone(client: KantataClient, tmp_path: Path) -> None:
    out = tmp_path / "none.csv"
    summary = await export(
        client,
        "workweek_memberships",
        out,
        include=["workweek", "user"],
        filters={"user_ids": ["999999"]},
        format="csv",
    )
    header = out.read_text(encoding="utf-8").splitlines()
    assert len(header) == 1
    readable = [name for name in declared(WorkweekMembership) if name not in MINUTES]
    assert header[0].startswith(",".join(readable) + ",user.id,")
    assert "workweek.total_minutes" in header[0]
    assert summary.complete
    assert summary.records == 0


async def test_workweek_memberships_with_filters_and_includes(
    fake: FakeKantata, client: KantataClient
) -> None:
    user_ids = ["3", "4", "5"]
    out = io.StringIO()
    summary = await export(
        client,
        "workweek_memberships",
        out,
        include=["workweek", "user"],
        filters={"user_ids": user_ids, "order": "start_date:desc"},
    )
    assert fake.requests[0].query["user_ids"] == "3,4,5"
    assert fake.requests[0].query["order"] == "start_date:desc"
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    expected = {
        wm["id"]: wm
        for wm in fake.dataset.records["workweek_memberships"].values()
        if str(wm["user_id"]) in user_ids
    }
    assert sorted(r["id"] for r in rows) == sorted(expected)
    for row in rows:
        wm = expected[row["id"]]
        assert row["user_id"] == str(wm["user_id"])  # an int on the wire, a str id here
        assert row["user"]["id"] == str(wm["user_id"])
        assert row["workweek"]["id"] == wm["workweek_id"]
        workweek = fake.dataset.records["workweeks"][wm["workweek_id"]]
        assert row["workweek"]["total_minutes"] == workweek["total_minutes"]
    assert summary.output is None
    assert not out.closed  # the caller's stream is flushed, not closed


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


async def test_an_error_midway_leaves_whole_lines_and_says_how_far(
    fake: FakeKantata, client: KantataClient, tmp_path: Path
) -> None:
    def fail_after_two_pages(request: RecordedRequest) -> None:
        if request.path == "users" and request.query.get("page") == "2":
            fake.fail_next(500, path="users")

    fake.on_request = fail_after_two_pages
    out = tmp_path / "users.ndjson"
    exporter = Exporter(client, "users", out, include=NESTED, per_page=10, concurrency=1)
    with pytest.raises(ExportError) as caught:
        await exporter.run()

    err = caught.value
    assert isinstance(err.__cause__, ServerError)
    assert not out.exists()  # only a complete export takes the target's name
    rows = read_ndjson(partial_of(out))
    summary = err.summary
    assert not summary.complete
    assert summary == exporter.summary
    assert 0 < summary.records == len(rows) < len(visible_users(fake))
    assert summary.records % 10 == 0  # whole pages, whole lines
    assert f"after {summary.records} records" in str(err)
    assert "500 GET users" in str(err)
    assert all("account_membership" in row for row in rows)


async def test_cancelling_midway_leaves_whole_lines_and_no_task(
    fake: FakeKantata, client: KantataClient, tmp_path: Path
) -> None:
    fake.latency = 0.01
    out = tmp_path / "users.csv"
    pages_before_cancel = 2
    calls = 0

    def cancel_later(progress: ExportProgress) -> None:
        nonlocal calls
        calls += 1
        if calls == pages_before_cancel:
            task.cancel()

    exporter = Exporter(
        client, "users", out, format="csv", per_page=5, concurrency=2, on_progress=cancel_later
    )
    task = asyncio.create_task(exporter.run())
    with pytest.raises(asyncio.CancelledError):
        await task

    summary = exporter.summary
    assert not summary.complete
    # The cancellation lands at the walk's next await: pages already in hand are written.
    assert 5 * pages_before_cancel <= summary.records < len(visible_users(fake))
    assert summary.records % 5 == 0
    assert not out.exists()
    with partial_of(out).open(newline="", encoding="utf-8") as f:
        lines = list(csv.reader(f))
    assert len(lines) == 1 + summary.records
    assert all(len(line) == len(lines[0]) for line in lines)
    # The walk's requests were cancelled with it: what still runs is the server's side.
    others = asyncio.all_tasks() - {asyncio.current_task()}
    files = {getattr(t.get_coro(), "cr_code").co_filename for t in others}  # noqa: B009
    assert all(f.endswith("aiohttp/web_protocol.py") for f in files), files


async def test_bad_arguments_fail_before_any_request(
    fake: FakeKantata, client: KantataClient, tmp_path: Path
) -> None:
    out = tmp_path / "never.ndjson"
    with pytest.raises(ValueError, match=r"unknown filter\(s\) for users: colour; valid: "):
        Exporter(client, "users", out, filters={"colour": "red"})
    with pytest.raises(ValueError, match=r"include: 'role\.nope' is not valid here"):
        Exporter(client, "users", out, include=["role.nope"])
    with pytest.raises(ValueError, match="must be timezone-aware"):
        Exporter(client, "users", out, filters={"updated_after": datetime(2024, 1, 1)})  # noqa: DTZ001
    with pytest.raises(ValueError, match="format must be one of ndjson, csv"):
        Exporter(client, "users", out, format="xml")  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match=r"resource must be one of .*time_entries.*, got 'gadgets'"
    ):
        Exporter(client, "gadgets", out)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rate_card_table_rows"):  # its list needs a path id
        Exporter(client, "rate_card_table_rows", out)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="concurrency"):
        Exporter(client, "users", out, concurrency=0)
    assert fake.requests == []
    assert not out.exists()


async def test_a_file_that_cannot_be_opened_is_an_export_error(
    fake: FakeKantata, client: KantataClient, tmp_path: Path
) -> None:
    with pytest.raises(ExportError) as caught:
        await export(client, "users", tmp_path / "missing" / "users.ndjson")
    assert isinstance(caught.value.__cause__, FileNotFoundError)
    assert caught.value.summary.records == 0
    assert fake.requests == []


async def test_an_exporter_runs_once(client: KantataClient) -> None:
    exporter = Exporter(client, "users", io.StringIO(), per_page=50)
    await exporter.run()
    with pytest.raises(RuntimeError, match="already run"):
        await exporter.run()


async def test_a_relation_the_server_sent_as_null_is_written_as_null(
    fake: FakeKantata, client: KantataClient, tmp_path: Path
) -> None:
    out = tmp_path / "users.ndjson"
    await export(client, "users", out, include=["manager", "role"])
    rows = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    users = fake.dataset.records["users"]
    top = [i for i in rows if users[i]["manager_id"] is None]
    managed = [i for i in rows if users[i]["manager_id"] is not None]
    assert top and managed
    for i in top:
        assert "manager" in rows[i]
        assert rows[i]["manager"] is None
    for i in managed:
        assert rows[i]["manager"]["id"] == users[i]["manager_id"]
    # Many users share a role: each row still carries the whole role.
    roles = fake.dataset.records["roles"]
    assert all(r["role"]["name"] == roles[users[i]["role_id"]]["name"] for i, r in rows.items())


async def test_a_record_reached_by_two_include_paths_carries_each_paths_subtree(
    fake: FakeKantata, client: KantataClient, tmp_path: Path
) -> None:
    # A manager is reached as `manager` (nothing below it) and as `account_membership.manager`
    # (with its role): each place carries what its own path asked for, in the same page.
    out = tmp_path / "users.ndjson"
    await export(client, "users", out, include=["manager", "account_membership.manager.role"])
    rows = read_ndjson(out)
    records = fake.dataset.records
    nested = [r for r in rows if r["account_membership"]["manager"] is not None]
    assert nested
    assert any(r["manager"] is not None for r in rows)
    for row in nested:
        manager = row["account_membership"]["manager"]
        role_id = records["users"][manager["id"]]["role_id"]
        assert manager["role"]["id"] == role_id, row["id"]
        assert manager["role"]["name"] == records["roles"][role_id]["name"]
    for row in rows:
        assert row["manager"] is None or "role" not in row["manager"], row["id"]


async def test_the_format_follows_the_extension_unless_given(
    client: KantataClient, tmp_path: Path
) -> None:
    by_extension = await export(client, "users", tmp_path / "users.CSV", per_page=50)
    with (tmp_path / "users.CSV").open(newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert header == declared(User)
    assert by_extension.format == "csv"

    given = await export(client, "users", tmp_path / "rows.csv", format="ndjson", per_page=50)
    assert given.format == "ndjson"
    assert len(read_ndjson(tmp_path / "rows.csv")) == given.records > 0

    other = await export(client, "users", tmp_path / "users.txt", per_page=50)
    assert other.format == "ndjson"
    assert len(read_ndjson(tmp_path / "users.txt")) == other.records
    stream = await export(client, "users", io.StringIO(), per_page=50)
    assert stream.format == "ndjson"


FORMULAS = {
    "full_name": '=HYPERLINK("http://evil.example","click")',
    "headline": "+1 555 0100",
    "city": "-2+3",
    "email_address": "@SUM(A1:A2)",
    "state": "\tTabbed",
    "country": "\rCarriage",
}


@pytest.mark.parametrize("guard", [True, False])
async def test_csv_cells_are_safe_in_a_spreadsheet_and_read_back_exactly(
    fake: FakeKantata, client: KantataClient, tmp_path: Path, guard: bool
) -> None:
    user_id = sorted(visible_users(fake), key=int)[0]
    fake.dataset.update("users", user_id, website="before\rafter", **FORMULAS)
    am_id = fake.dataset.records["users"][user_id]["account_membership_id"]
    # JSON numbers are numbers in a spreadsheet, never formulas: never prefixed.
    fake.dataset.update("account_memberships", am_id, bill_rate_in_cents=-500)
    fake.dataset.update("account_memberships", am_id, billability_target=-1.5)
    out = tmp_path / "users.csv"
    await export(
        client,
        "users",
        out,
        include=["account_membership"],
        filters={"optional_fields": ["city", "state", "country", "website"]},
        csv_formula_guard=guard,
    )

    with out.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = {row[0]: dict(zip(header, row, strict=True)) for row in reader}
    assert len(rows) == len(visible_users(fake))  # the lone CR split no row
    row = rows[user_id]
    for name, value in FORMULAS.items():
        assert row[name] == ("'" + value if guard else value)
    assert row["website"] == "before\rafter"  # a CR inside a cell is quoted, not a line end
    assert row["account_membership.bill_rate_in_cents"] == "-500"
    assert row["account_membership.billability_target"] == "-1.5"
    assert out.read_bytes().count(b"\r\n") == len(rows) + 1  # RFC 4180 line ends


async def test_workweek_membership_csv_has_no_write_only_minutes_columns(
    fake: FakeKantata, client: KantataClient, tmp_path: Path
) -> None:
    # The API takes `*_minutes` on membership writes but reads them on the included workweek:
    # membership columns for them would be empty on every row.
    out = tmp_path / "wms.csv"
    await export(client, "workweek_memberships", out, include=["workweek"])
    with out.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [dict(zip(header, row, strict=True)) for row in reader]
    assert header[: header.index("workweek.id")] == [
        name for name in declared(WorkweekMembership) if name not in MINUTES
    ]
    assert all(f"workweek.{name}" in header for name in MINUTES)
    assert rows
    for row in rows:
        workweek = fake.dataset.records["workweeks"][row["workweek_id"]]
        assert [row[f"workweek.{name}"] for name in MINUTES] == [
            str(workweek[name]) for name in MINUTES
        ]


def partial_of(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def names_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("fail_on_page", [1, 3])
async def test_a_failed_export_leaves_the_previous_file_and_keeps_its_rows_apart(
    fake: FakeKantata, client: KantataClient, tmp_path: Path, fail_on_page: int
) -> None:
    out = tmp_path / "users.ndjson"
    first = await export(client, "users", out, per_page=10)
    before = out.read_bytes()
    assert first.complete and first.partial is None
    assert names_in(tmp_path) == ["users.ndjson"]  # no temporary left

    def fail(request: RecordedRequest) -> None:
        if request.path == "users" and request.query.get("page") == str(fail_on_page - 1):
            fake.fail_next(500, times=10, path="users")

    if fail_on_page == 1:
        fake.fail_next(500, times=10, path="users")
    else:
        fake.on_request = fail
    with pytest.raises(ExportError) as caught:
        await export(client, "users", out, per_page=10, concurrency=1)

    summary = caught.value.summary
    assert out.read_bytes() == before  # the previous export is untouched
    assert summary.partial == partial_of(out)
    assert summary.output == out
    rows = read_ndjson(partial_of(out))
    assert len(rows) == summary.records == 10 * (fail_on_page - 1)
    assert names_in(tmp_path) == ["users.ndjson", "users.ndjson.partial"]
    assert str(partial_of(out)) in str(caught.value)
    assert "left unchanged" in str(caught.value)


async def test_a_cancelled_export_leaves_the_previous_file(
    fake: FakeKantata, client: KantataClient, tmp_path: Path
) -> None:
    out = tmp_path / "users.csv"
    out.write_bytes(b"the previous export\r\n")
    out.chmod(0o640)
    fake.latency = 0.01

    def cancel_after_two(progress: ExportProgress) -> None:
        if progress.pages == 2:
            task.cancel()

    exporter = Exporter(
        client, "users", out, per_page=5, concurrency=2, on_progress=cancel_after_two
    )
    task = asyncio.create_task(exporter.run())
    with pytest.raises(asyncio.CancelledError):
        await task
    summary = exporter.summary
    assert out.read_bytes() == b"the previous export\r\n"
    assert summary.partial == partial_of(out)
    with partial_of(out).open(newline="", encoding="utf-8") as f:
        lines = list(csv.reader(f))
    assert len(lines) == 1 + summary.records >= 11

    # A complete export replaces the file whole, with the mode the file had.
    done = await export(client, "users", out, per_page=50)
    assert done.complete and done.partial is None
    assert (out.stat().st_mode & 0o777) == 0o640
    with out.open(newline="", encoding="utf-8") as f:
        assert len(list(csv.reader(f))) == 1 + done.records


async def test_a_fifo_is_written_in_place_not_replaced(
    client: KantataClient, tmp_path: Path
) -> None:
    import os
    import stat
    import threading

    fifo = tmp_path / "rows.ndjson"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    try:
        summary = await export(client, "users", fifo, per_page=50)
    finally:
        reader.join(10)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert len(received[0].decode().splitlines()) == summary.records > 0
    assert summary.partial is None
    assert names_in(tmp_path) == ["rows.ndjson"]


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


# -- what a server may send -----------------------------------------------------------------


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


@contextlib.asynccontextmanager
async def serving_users(records: dict[str, dict[str, Any]], **sideloads: Any) -> AsyncIterator[str]:
    """A tiny Kantata: `GET /users` answers one page holding `records`; yields the base URL."""
    body = {
        "count": len(records),
        "meta": {"count": len(records), "page_count": 1, "page_number": 1, "page_size": 200},
        "results": [{"key": "users", "id": i} for i in records],
        "users": records,
        **sideloads,
    }
    text = json.dumps(body)

    async def users(request: web.Request) -> web.Response:
        page = request.query.get("page", "1")
        if page != "1":  # the walk may ask for more pages than the count needs
            empty = {
                **body,
                "results": [],
                "users": {},
                "meta": {**body["meta"], "page_number": int(page)},
            }
            return web.json_response(empty)
        return web.Response(text=text, content_type="application/json")

    app = web.Application()
    app.router.add_get("/api/v1/users", users)
    async with AppServer(app) as server:
        yield server.url()


ODD_RECORDS = {
    "an empty field name": {"": "x"},
    "deep nesting": {"bio": nested(600)},
    "a field that is not a declared relation's value": {"role": "Designer"},
}


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
@pytest.mark.parametrize("odd", sorted(ODD_RECORDS))
async def test_nothing_a_server_sends_crashes_the_export_without_a_summary(
    tmp_path: Path, odd: str, fmt: str, caplog: pytest.LogCaptureFixture
) -> None:
    plain = {"id": "1", "full_name": "Ann", "role_id": "3"}
    strange = {"id": "2", "full_name": "Bob", "role_id": "3", **ODD_RECORDS[odd]}
    roles = {"3": {"id": "3", "name": "Designer"}}
    out = tmp_path / f"users.{fmt}"
    async with (
        serving_users({"1": plain, "2": strange}, roles=roles) as base_url,
        KantataClient("token", base_url=base_url) as client,
    ):
        try:
            summary = await export(client, "users", out, include=["role"])
        except ExportError as err:
            # Only what cannot be written at all may stop it: JSON nested past what the
            # encoder takes. Any key is a field, and a field cannot hide a relation.
            assert odd == "deep nesting", err
            # A typed error, with the summary and the original as its cause.
            assert isinstance(err.__cause__, Exception)
            assert not isinstance(err.__cause__, KantataError)
            assert not err.summary.complete
            assert err.summary.partial == partial_of(out)
            assert type(err.__cause__).__name__ in str(err)
            assert not out.exists()
            return
    # Or the record is written, whole, with the relation asked for.
    assert summary.complete
    if fmt == "ndjson":
        rows = {r["id"]: r for r in read_ndjson(out)}
        assert rows["2"]["role"] == {"id": "3", "name": "Designer"}
        if "role" in ODD_RECORDS[odd]:  # the field the relation's key took is not silent
            assert "field named like their relation 'role'" in caplog.text
    else:
        with out.open(newline="", encoding="utf-8") as f:
            rows = {r["id"]: r for r in csv.DictReader(f)}
        assert rows["2"]["role.name"] == "Designer"
    assert rows["1"]["full_name"] == "Ann"
