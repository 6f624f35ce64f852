"""Fault matrix row 3: bodies that are not the answer, and answers that never come."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from conftest import sdk_tasks
from fault_helpers import (
    LossyProxy,
    alphabetical,
    fast_policy,
    page_of,
    partial_rows,
    read_rows,
    recording_policy,
)
from yarl import URL

from kantata_async import (
    APIConnectionError,
    APITimeoutError,
    Failure,
    KantataClient,
    NotFoundError,
    ResponseValidationError,
    ServerError,
)
from kantata_async.export import ExportError, export
from kantata_async.testing import FakeKantata, RecordedRequest

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
