"""An export that fails, is cancelled or misused: whole lines, the previous file kept, a summary."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from export_helpers import NESTED, read_ndjson, visible_users
from servers import AppServer

from kantata_async import KantataClient, KantataError, ServerError
from kantata_async.export import Exporter, ExportError, ExportProgress, export
from kantata_async.testing import FakeKantata, RecordedRequest


def partial_of(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def names_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


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
