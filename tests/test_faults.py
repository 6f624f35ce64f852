"""Fault injection: what the client, the page walk and the export do when the network lies.

Every row is checked exactly against the fake server's own record of what it answered
(`fake.requests`, `fake.dataset`) or against an oracle; `MATRIX` below lists the tests of each
row and `test_the_matrix_names_every_fault_test` keeps that list honest.

| # | Fault injected                                   | Asserted outcome                         |
|---|--------------------------------------------------|------------------------------------------|
| 1 | 10,000-user export (`show_disabled`) under 30 %  | the file holds exactly the 10,000 user   |
|   | random 429s without `Retry-After`; the same with | ids, each once, rows equal to the        |
|   | `Retry-After: 0`; four bursts of three 503s;     | dataset; `complete`, 0 duplicates, 0     |
|   | 40 % random dropped connections                  | drift, 50 pages; each of pages 1..51     |
|   |                                                  | answered 200 exactly once; `retries` > 0 |
|   |                                                  | and equal to the faults the server sent  |
|   |                                                  | (drops: by the aiohttp-retry identity);  |
|   |                                                  | `Retry-After` reached the policy (0.0 /  |
|   |                                                  | None)                                    |
|   | a 429 / 503 with `Retry-After: 30` while two     | nothing else is sent during the pause    |
|   | more GETs wait for the client's only slot        | [FAILS: library bug A]                   |
| 2 | count lying by +7, -25, -10,000 (export and      | walk ends; every visible user once;      |
|   | walk); page 3 emptied mid-walk by deletes;       | drift == -offset (clipped at a count of  |
|   | inserts and deletes on every page request        | 0); emptied page: 20 rows, drift 20 - N; |
|   | (sequential walk and export: exact;              | inserts/deletes: ids, duplicates and     |
|   | concurrent walk: invariants)                     | drift equal an offset-paging oracle      |
|   |                                                  | (= +1 duplicate per insert, -1 per       |
|   |                                                  | delete); concurrent: no duplicate, drift |
|   |                                                  | = records - reported count               |
| 3 | page 5 of an export answered with invalid JSON,  | ExportError whose cause is               |
|   | a half JSON body, an HTML 200 page, a body cut   | ResponseValidationError (status 200) /   |
|   | on the wire, HTML 502s past the retries, no      | APIConnectionError (sent, 3 attempts) /  |
|   | answer within the timeout; a plain GET timing    | ServerError 502 with the nginx page /    |
|   | out against `latency`; a GET cut once, retried   | APITimeoutError; file = exactly the 40   |
|   |                                                  | rows of pages 1-4, whole lines;          |
|   |                                                  | `complete=False`                         |
|   | page 5 a 200 JSON object that is not an envelope | ResponseValidationError, 40 whole rows   |
|   |                                                  | [FAILS: library bug B]                   |
|   | page 2 a real envelope without `meta`            | all records, or a typed error; never a   |
|   |                                                  | silent gap [FAILS: library bug B]        |
|   | one nested include branch 404s while another is  | ExportError(NotFoundError); no SDK task  |
|   | in flight                                        | left running [FAILS: library bug C]      |
| 4 | POST workweek_memberships whose answer is lost   | APIConnectionError(request_sent=True)    |
|   | after the server wrote it (TCP proxy); the same  | saying the write may have happened;      |
|   | POST dropped by the fake before the write        | exactly one POST reached the server; the |
|   |                                                  | membership exists in `fake.dataset` once |
|   |                                                  | (lost answer) / not at all (dropped)     |
| 5 | export task cancelled after 2+ pages: mid-walk,  | CancelledError (promptly); no            |
|   | mid-walk with nested includes, and while the     | kantata_async task left; whole lines =   |
|   | client waits out a 60 s `Retry-After`            | `summary.records`, `complete=False`; the |
|   |                                                  | session closed after `async with`; the   |
|   |                                                  | client still works after a mid-walk      |
|   |                                                  | cancel                                   |
| 6 | Hypothesis: versions of 3 memberships in random  | each field = the value of the newest     |
|   | pages (partial fields, duplicates, re-merged     | version (by updated_at) that carried it; |
|   | pages, sideloads, stubs, any order, reads in     | never-carried fields stay absent;        |
|   | between)                                         | updated_at = newest; `user` link follows |
|   |                                                  | the winning user_id                      |

Library bugs these tests expose (they fail until fixed):

- A: `Transport.request` waits out the client-wide pause before taking a concurrency slot,
  never after, so requests already queued for a slot go out during a 429/503 pause.
- B: `ListRequest.pages` drops a 200 page whose body is a JSON object it cannot read as a list
  envelope (no `results` list or no `meta` object): `_build` does not raise for it, so the page
  is skipped, its records are lost and the export still reports `complete=True`.
- C: `load_nested` / `_load_level` run include branches and id chunks with a bare
  `asyncio.gather`: when one fails, the others keep running after the error was raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import gc
import json
import math
import re
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from conftest import sdk_tasks, visible
from hypothesis import given, settings
from hypothesis import strategies as st
from yarl import URL

from kantata_async import (
    APIConnectionError,
    APITimeoutError,
    Failure,
    FieldNotLoadedError,
    Graph,
    KantataClient,
    NotFoundError,
    RelationNotLoadedError,
    ResponseValidationError,
    RetryPolicy,
    ServerError,
    WorkweekMembership,
    loaded_fields,
)
from kantata_async.export import Exporter, ExportError, ExportProgress, ExportSummary, export
from kantata_async.testing import Dataset, FakeKantata, RecordedRequest

BIG = 10_000
BIG_PER_PAGE = 200  # the export's default, the API's maximum
NESTED = ["account_membership.skill_memberships", "role"]


def fast_policy(max_retries: int = 10) -> RetryPolicy:
    return RetryPolicy.instant(max_retries=max_retries)


@attrs.frozen(kw_only=True)
class RecordingPolicy(RetryPolicy):
    """A fast policy that notes what each failed attempt looked like to the retry logic."""

    seen: list[tuple[int | None, Failure | None, float | None]] = attrs.field(
        factory=list, eq=False
    )

    def delay(self, **kwargs: Any) -> float | None:
        self.seen.append((kwargs.get("status"), kwargs.get("failure"), kwargs.get("retry_after")))
        return super().delay(**kwargs)


def recording_policy(max_retries: int = 10) -> RecordingPolicy:
    return RecordingPolicy(max_retries=max_retries, backoff_base=0.001, backoff_max=0.005)


def partial_rows(out: Path, summary: ExportSummary) -> Path:
    """Where an incomplete export to `out` left its rows: beside `out`, which it never made."""
    assert not out.exists(), "an incomplete export took the target's name"
    assert summary.partial == out.with_name(out.name + ".partial")
    assert summary.partial.is_file()
    return summary.partial


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The NDJSON rows of `path`; fails on any partial or unparsable line."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    assert text == "" or text.endswith("\n"), "the file ends in a partial line"
    rows = []
    for line in text.splitlines():
        row = json.loads(line)
        assert isinstance(row, dict) and isinstance(row.get("id"), str), line[:80]
        rows.append(row)
    return rows


def alphabetical(fake: FakeKantata) -> list[str]:
    """Visible user ids in the server's default order (full name ignoring case, then id)."""
    users = [fake.dataset.records["users"][i] for i in visible(fake)]
    users.sort(key=lambda u: (u["full_name"].casefold(), int(u["id"])))
    return [u["id"] for u in users]


def page_of(request: RecordedRequest) -> int | None:
    if request.method != "GET" or request.path != "users":
        return None
    return int(request.query.get("page", "1"))


def statuses(fake: FakeKantata) -> Counter[int | None]:
    return Counter(r.status for r in fake.requests)


async def wait_for(condition: Callable[[], bool], task: asyncio.Task[Any]) -> None:
    """Let the loop run until `condition()` holds; fail if `task` ends first."""
    while not condition():
        assert not task.done(), f"the task ended first: {task}"
        await asyncio.sleep(0.002)


# -- a TCP proxy that loses or cuts answers ------------------------------------------------

Plan = Callable[[str, URL], str]  # (method, target) -> "pass" | "lose" | "cut"


def _content_length(head: bytes) -> int:
    found = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.IGNORECASE)
    return int(found[1]) if found else 0


class LossyProxy:
    """Forwards each request to the fake server on its own connection, waits for the whole
    answer (so the server has carried the request out), then, as `plan` says:

    - "pass": forwards the answer (with `Connection: close`) and closes;
    - "lose": closes the client's connection without a byte of the answer;
    - "cut": forwards the headers and half of the body, then closes.
    """

    def __init__(self, fake: FakeKantata, plan: Plan) -> None:
        self._upstream = ("127.0.0.1", fake.port)
        self._plan = plan
        self._server: asyncio.Server | None = None
        self.seen: list[tuple[str, str, str]] = []  # (method, target, what was done)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/api/v1/"

    async def __aenter__(self) -> LossyProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            body = await reader.readexactly(_content_length(head))
            method, target, _ = head.split(b"\r\n", 1)[0].decode("ascii").split(" ")
            action = self._plan(method, URL(target))
            self.seen.append((method, target, action))
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
            try:
                up_writer.write(head + body)
                await up_writer.drain()
                answer_head = await up_reader.readuntil(b"\r\n\r\n")
                answer_body = await up_reader.readexactly(_content_length(answer_head))
            finally:
                up_writer.close()
                with contextlib.suppress(ConnectionError):
                    await up_writer.wait_closed()
            if action == "pass":
                lines = [
                    line
                    for line in answer_head[:-4].split(b"\r\n")
                    if not line.lower().startswith(b"connection:")
                ]
                writer.write(b"\r\n".join([*lines, b"Connection: close", b"", b""]) + answer_body)
            elif action == "cut":
                writer.write(answer_head + answer_body[: len(answer_body) // 2])
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


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


# == row 3: bodies that are not the answer, and answers that never come ======================

FAULTS = [
    "invalid-json",
    "half-json",
    "html-200",
    "json-not-an-envelope",
    "cut-on-the-wire",
    "html-502",
    "timeout",
]
NOT_AN_ENVELOPE = {"message": "Service temporarily unavailable"}


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_broken_page_stops_the_export_with_whole_lines(
    fake: FakeKantata, tmp_path: Path, fault: str
) -> None:
    """Pages come one at a time; page 5 breaks, so pages 1-4 (40 rows) are in the file."""
    fake.latency = 0.005
    garble = {"invalid-json": "json", "half-json": "truncated", "html-200": "html"}

    async def break_page_five(request: RecordedRequest) -> None:
        page = page_of(request)
        if page == 4 and fault in garble:
            fake.malformed_next(garble[fault], path="users")  # the next request: page 5
        elif page == 4 and fault == "json-not-an-envelope":
            fake.fail_next(200, body=NOT_AN_ENVELOPE, path="users")
        elif page == 4 and fault == "html-502":
            fake.fail_next(502, times=3, path="users")
        elif page == 5 and fault == "timeout":
            await asyncio.sleep(1.0)  # past the client's 0.4 s timeout

    def cut_page_five(method: str, target: URL) -> str:
        return "cut" if target.query.get("page") == "5" else "pass"

    fake.on_request = break_page_five
    out = tmp_path / "users.ndjson"
    policy = recording_policy(max_retries=0 if fault == "timeout" else 2)
    timeout = 0.4 if fault == "timeout" else 60.0
    async with contextlib.AsyncExitStack() as stack:
        base_url = fake.base_url
        if fault == "cut-on-the-wire":
            proxy = await stack.enter_async_context(LossyProxy(fake, cut_page_five))
            base_url = proxy.base_url
        client = await stack.enter_async_context(
            KantataClient(fake.token, base_url=base_url, retry=policy, timeout=timeout)
        )
        with pytest.raises(ExportError) as info:
            await export(client, "users", out, per_page=10, concurrency=1)

    summary = info.value.summary
    cause = info.value.__cause__
    rows = read_rows(partial_rows(out, summary))
    assert [row["id"] for row in rows] == alphabetical(fake)[:40]
    assert summary.records == 40
    assert summary.pages == 4
    assert not summary.complete
    assert "stopped after 40 records (4 pages)" in str(info.value)
    if fault in garble or fault == "json-not-an-envelope":
        assert type(cause) is ResponseValidationError
        assert (cause.status, cause.method, cause.path) == (200, "GET", "users")
        assert ("expected JSON" in str(cause)) == (fault == "html-200")
        assert summary.retries == 0  # a 200 with a bad body is not retried
    elif fault == "cut-on-the-wire":
        assert type(cause) is APIConnectionError
        assert cause.request_sent
        assert set(policy.seen) == {(None, Failure.SENT, None)}
        assert summary.retries == 2
        assert [a for _, t, a in proxy.seen if URL(t).query.get("page") == "5"] == ["cut"] * 3
    elif fault == "html-502":
        assert type(cause) is ServerError
        assert cause.status == 502
        assert cause.body.startswith("<html>") and "nginx" in cause.body
        assert "502 Bad Gateway" in str(cause)
        assert summary.retries == 2
        assert [r.status for r in fake.requests if page_of(r) == 5] == [502, 502, 502]
    else:
        assert type(cause) is APITimeoutError
        assert cause.request_sent
        assert summary.retries == 0
        assert policy.seen == [(None, Failure.TIMEOUT, None)]


async def test_a_slow_answer_is_a_timeout_error(fake: FakeKantata) -> None:
    fake.latency = 0.5
    policy = recording_policy(max_retries=0)
    async with KantataClient(
        fake.token, base_url=fake.base_url, timeout=0.1, retry=policy
    ) as client:
        with pytest.raises(APITimeoutError) as info:
            await client.users.get("2")
        assert client.transport.retries == 0
    assert info.value.request_sent is True
    assert (info.value.method, info.value.path) == ("GET", "users/2")
    assert "no complete answer within 0.1 s" in str(info.value)
    assert policy.seen == [(None, Failure.TIMEOUT, None)]
    assert [r.path for r in fake.requests] == ["users/2"]


async def test_a_body_cut_on_the_wire_is_retried_for_a_get(fake: FakeKantata) -> None:
    cuts = iter(["cut", "pass"])
    async with (
        LossyProxy(fake, lambda method, target: next(cuts)) as proxy,
        KantataClient(fake.token, base_url=proxy.base_url, retry=fast_policy()) as client,
    ):
        user = await client.users.get("2")
        assert client.transport.retries == 1
    assert user.full_name == fake.dataset.records["users"]["2"]["full_name"]
    assert [action for _, _, action in proxy.seen] == ["cut", "pass"]


async def test_a_page_without_meta_loses_no_record(fake: FakeKantata, tmp_path: Path) -> None:
    """Page 2 comes as a real envelope lacking `meta` (the SDK reads such an envelope for the
    first page). Its records must be exported, or the export must fail: never a silent gap."""
    order = alphabetical(fake)
    page_two = fake.dataset.envelope("users", order[10:20], count=len(order), page=2, per_page=10)
    del page_two["meta"]

    def answer_page_two(request: RecordedRequest) -> None:
        if page_of(request) == 1:
            fake.fail_next(200, body=page_two, path="users")  # the next request: page 2

    fake.on_request = answer_page_two
    out = tmp_path / "users.ndjson"
    async with KantataClient(fake.token, base_url=fake.base_url, retry=fast_policy()) as client:
        try:
            summary = await export(client, "users", out, per_page=10, concurrency=1)
        except ExportError as err:  # refusing the page is an acceptable answer
            assert type(err.__cause__) is ResponseValidationError
            assert not err.summary.complete
            rows = read_rows(partial_rows(out, err.summary))
            assert [row["id"] for row in rows] == order[: err.summary.records]
            return
    ids = [row["id"] for row in read_rows(out)]
    assert summary.complete
    assert ids == order, f"{len(order) - len(ids)} records silently missing"
    assert summary.count_drift == 0


async def test_a_failed_nested_include_leaves_no_task_running(
    fake: FakeKantata, tmp_path: Path
) -> None:
    """Two nested include branches load side by side; one fails while the other is still
    waiting for the server. The export stops with the error, and nothing of it runs on."""

    async def slow_skill_memberships(request: RecordedRequest) -> None:
        if request.path == "skill_memberships":
            await asyncio.sleep(0.3)

    fake.on_request = slow_skill_memberships
    fake.fail_next(404, path="account_memberships")
    out = tmp_path / "users.ndjson"
    include = ["account_membership.skill_memberships", "skill_memberships.skill"]
    async with KantataClient(fake.token, base_url=fake.base_url, retry=fast_policy(0)) as client:
        with pytest.raises(ExportError) as info:
            await export(client, "users", out, include=include, per_page=100, concurrency=1)
        for _ in range(5):
            await asyncio.sleep(0)
        left = sdk_tasks()
        for task in left:  # clean up, so that a failure here leaves nothing behind
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
    assert type(info.value.__cause__) is NotFoundError
    assert not info.value.summary.complete
    assert read_rows(partial_rows(out, info.value.summary)) == []
    assert [getattr(t.get_coro(), "__qualname__", t) for t in left] == []


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


# == row 6: partial, duplicated, out-of-order payloads merge per field =====================

RECORD_IDS = ("1", "2", "3")
BASE = datetime(2024, 1, 1, tzinfo=UTC)
_DAYS = st.dates(date(2023, 1, 1), date(2025, 12, 31)).map(date.isoformat)
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "start_date": st.none() | _DAYS,
    "end_date": st.none() | _DAYS,
    "workweek_id": st.sampled_from(["31", "32", 33, None]),
    "user_id": st.sampled_from([7, 8, "7", "8", None]),
    "note": st.none() | st.text(max_size=3),  # not declared: lands in `extra`
}
DECLARED = [name for name in VALUES if name != "note"]


@attrs.frozen
class Version:
    """One state of a membership on the server: a unique updated_at and every field."""

    instant: datetime
    values: dict[str, Any]


@attrs.frozen
class Carried:
    """A version as one page carries it: some of its fields, its stamp in some format."""

    version: Version
    fields: frozenset[str]
    style: int


def _stamp(instant: datetime, style: int) -> str:
    if style == 0:
        return instant.isoformat().replace("+00:00", "Z")
    if style == 1:
        return instant.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()
    if style == 2:
        return instant.astimezone(timezone(timedelta(hours=-7))).isoformat()
    return instant.isoformat().removesuffix("+00:00")  # naive: taken as UTC


def _reads_as(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name.endswith("_date"):
        return date.fromisoformat(value)
    if name.endswith("_id"):
        return str(value)
    return value


@st.composite
def merge_histories(draw: st.DrawFn) -> tuple[bool, list[tuple[bool, dict[str, Carried]]]]:
    """(held by a workweek?, the pages in merge order: (memberships primary?, records)).

    Pages are drawn, then merged in a drawn sequence that may repeat them (duplicates).
    Memberships ride as sideloads of a users page only when a workweek holds them (the graph
    holds records weakly; a sideload nothing references would be freed at once).
    """
    counts = {rid: draw(st.integers(1, 4), label=f"versions of {rid}") for rid in RECORD_IDS}
    seconds = iter(
        draw(
            st.lists(
                st.integers(0, 10**7),
                min_size=sum(counts.values()),
                max_size=sum(counts.values()),
                unique=True,
            )
        )
    )
    versions = {
        rid: [
            Version(BASE + timedelta(seconds=next(seconds)), draw(st.fixed_dictionaries(VALUES)))
            for _ in range(n)
        ]
        for rid, n in counts.items()
    }
    held = draw(st.booleans(), label="held by a workweek")
    pages = []
    for _ in range(draw(st.integers(1, 6))):
        records = {}
        for rid in sorted(draw(st.sets(st.sampled_from(RECORD_IDS), min_size=1))):
            records[rid] = Carried(
                draw(st.sampled_from(versions[rid])),
                frozenset(draw(st.sets(st.sampled_from(list(VALUES))))),
                draw(st.integers(0, 3)),
            )
        primary = draw(st.booleans()) if held else True
        pages.append((primary, records))
    order = draw(st.lists(st.integers(0, len(pages) - 1), min_size=1, max_size=10))
    return held, [pages[i] for i in order]


def _page(primary: bool, records: dict[str, Carried]) -> dict[str, Any]:
    """A fresh envelope for the page (the graph adopts the dicts it merges)."""
    memberships = {
        rid: {
            "id": rid,
            "updated_at": _stamp(c.version.instant, c.style),
            **{name: copy.deepcopy(c.version.values[name]) for name in sorted(c.fields)},
        }
        for rid, c in records.items()
    }
    if primary:
        key, primaries = "workweek_memberships", memberships
        payload: dict[str, Any] = {}
    else:  # sideloaded under a users page
        key, primaries = "users", {"7": {"id": "7", "full_name": "Ann"}}
        payload = {"workweek_memberships": memberships}
    return {
        "count": len(primaries),
        "meta": {"count": len(primaries), "page_count": 1, "page_number": 1, "page_size": 200},
        "results": [{"key": key, "id": i} for i in primaries],
        key: primaries,
        **payload,
    }


@settings(deadline=None, max_examples=300, database=None)
@given(history=merge_histories(), read_between=st.booleans())
def test_merged_pages_keep_the_newest_value_of_each_field(
    history: tuple[bool, list[tuple[bool, dict[str, Carried]]]], read_between: bool
) -> None:
    held_by_workweek, pages = history
    graph = Graph()
    keep: list[Any] = graph.merge(
        {
            "results": [{"key": "users", "id": "7"}, {"key": "users", "id": "8"}],
            "users": {"7": {"full_name": "Ann"}, "8": {"full_name": "Bob"}},
        }
    )
    users = {u.id: u for u in keep}
    if held_by_workweek:  # the memberships exist as placeholders before they arrive
        keep += graph.merge(
            {
                "results": [{"key": "workweeks", "id": "900"}],
                "workweeks": {"900": {"workweek_membership_ids": list(RECORD_IDS)}},
            }
        )
    for primary, records in pages:
        keep += graph.merge(_page(primary, records))
        for rid in records:
            keep.append(graph.get(WorkweekMembership, rid))
            if read_between:  # converting and caching values must not disturb later merges
                membership = graph.get(WorkweekMembership, rid)
                for name in DECLARED:
                    getattr(membership, name, None)
                getattr(membership, "user", None)

    for rid in RECORD_IDS:
        carried = [records[rid] for _, records in pages if rid in records]
        membership = graph.get(WorkweekMembership, rid)
        if not carried:
            assert membership is None
            continue
        assert membership is not None
        # The oracle: per field, the value of the newest version that carried it.
        expected: dict[str, Any] = {}
        for c in sorted(carried, key=lambda c: c.version.instant):
            expected.update({name: c.version.values[name] for name in c.fields})
        for name in DECLARED:
            if name in expected:
                assert getattr(membership, name) == _reads_as(name, expected[name]), name
            else:
                with pytest.raises(FieldNotLoadedError):
                    getattr(membership, name)
        assert membership.extra == ({"note": expected["note"]} if "note" in expected else {})
        assert set(loaded_fields(membership)) == {"id", "updated_at", *expected} - {"note"}
        assert membership.updated_at == max(c.version.instant for c in carried)
        if "user_id" in expected:
            owner = _reads_as("user_id", expected["user_id"])
            assert membership.user is (users[owner] if owner else None)
        else:
            with pytest.raises(RelationNotLoadedError):
                _ = membership.user


# == the matrix ===============================================================================

MATRIX: dict[int, tuple[str, list[str]]] = {
    1: (
        "10,000-user export under 429s (with and without Retry-After), 503 bursts, drops",
        [
            "test_10k_export_under_30_percent_429s",
            "test_10k_export_through_503_bursts",
            "test_10k_export_through_dropped_connections",
            "test_a_pause_holds_requests_already_waiting_for_a_slot",
        ],
    ),
    2: (
        "lying counts, a page emptied mid-walk, inserts and deletes during the walk",
        [
            "test_a_lying_count_in_an_export",
            "test_a_lying_count_in_a_walk",
            "test_a_page_emptied_mid_walk_ends_it",
            "test_inserts_and_deletes_during_a_sequential_walk_match_offset_paging",
            "test_inserts_and_deletes_during_a_concurrent_walk",
        ],
    ),
    3: (
        "malformed, truncated, HTML, cut, 502 and timed-out answers: typed errors, whole lines",
        [
            "test_a_broken_page_stops_the_export_with_whole_lines",
            "test_a_slow_answer_is_a_timeout_error",
            "test_a_body_cut_on_the_wire_is_retried_for_a_get",
            "test_a_page_without_meta_loses_no_record",
            "test_a_failed_nested_include_leaves_no_task_running",
        ],
    ),
    4: (
        "a POST whose connection drops after sending: one POST, not retried, may have happened",
        ["test_a_post_whose_connection_drops_is_not_retried"],
    ),
    5: (
        "a cancelled export: no task left, session closed, whole lines",
        ["test_cancelling_an_export_midway"],
    ),
    6: (
        "Hypothesis: any pages, any order: each field from the newest payload carrying it",
        ["test_merged_pages_keep_the_newest_value_of_each_field"],
    ),
}


def _fault_tests() -> Iterator[str]:
    module = sys.modules[__name__]
    for name in vars(module):
        if name.startswith("test_") and name != "test_the_matrix_names_every_fault_test":
            yield name


def test_the_matrix_names_every_fault_test() -> None:
    listed = [name for _, names in MATRIX.values() for name in names]
    assert sorted(MATRIX) == [1, 2, 3, 4, 5, 6]
    assert len(listed) == len(set(listed))
    assert sorted(listed) == sorted(_fault_tests())
    for row in MATRIX:
        assert f"| {row} |" in (__doc__ or "")
