"""Answers the client cannot read, and calls cut off when a session closes.

Every test runs against a real local `FakeKantata` (no mocks of aiohttp). The promises:

- a 2xx answer that is not what was expected (unreadable counts in `meta`, ids not asked
  for, a body that is not JSON) is a `ResponseValidationError` naming the method and path;
- the token never appears in an error, a printed traceback or a log line, even when the
  server echoes it back (in `meta`, as an id, in a `Content-Type`, as a key);
- calls waiting for a slot when the client (or the caller's session) closes fail with
  `ClientClosedError`; no aiohttp exception reaches the caller.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Sequence

import aiohttp
import pytest

from kantata_async import (
    APIConnectionError,
    ClientClosedError,
    KantataClient,
    PayloadError,
    ResponseValidationError,
    RetryPolicy,
)
from kantata_async.testing import FakeKantata, RecordedRequest


def _envelope_of_me(me_id: str, **meta: object) -> dict[str, object]:
    """A one-user list envelope, as `fake.fail_next(200, body=...)` serves it."""
    return {
        "count": 1,
        "meta": {"count": 1, "page_count": 1, "page_size": 20, "page_number": 1, **meta},
        "results": [{"key": "users", "id": me_id}],
        "users": {me_id: {"id": me_id, "full_name": "Me"}},
    }


# -- unreadable answers -------------------------------------------------------------------


async def test_an_unreadable_page_count_is_a_response_validation_error(
    fake: FakeKantata, client: KantataClient
) -> None:
    """A list page whose `meta.count` is not a number is a `ResponseValidationError` naming
    the path (not a bare `PayloadError`) from `await list()`."""
    me = await client.users.me()
    fake.fail_next(200, path="users", method="GET", body=_envelope_of_me(me.id, count="many"))
    with pytest.raises(ResponseValidationError) as caught:
        await client.users.list()
    assert not isinstance(caught.value, PayloadError)
    assert caught.value.path == "users"


async def test_a_walk_stops_with_a_typed_error_when_meta_is_unreadable(
    fake: FakeKantata, client: KantataClient
) -> None:
    """Counts in `meta` that are not numbers leave no way to tell where the list ends:
    `async for` stops with a `ResponseValidationError` naming the path."""
    me = await client.users.me()
    fake.fail_next(200, path="users", method="GET", body=_envelope_of_me(me.id, count="many"))
    with pytest.raises(ResponseValidationError, match="unreadable pagination counts") as caught:
        [u.id async for u in client.users.list()]
    assert caught.value.path == "users"


# -- the token, echoed back ---------------------------------------------------------------


async def test_unreadable_meta_never_quotes_the_token(
    fake: FakeKantata, client: KantataClient
) -> None:
    """An unreadable `meta` that echoes the token is quoted in the error with the token
    redacted."""
    me = await client.users.me()
    body = _envelope_of_me(me.id, count=f"Bearer {fake.token}")
    fake.fail_next(200, path="users", method="GET", body=body)
    with pytest.raises(ResponseValidationError, match="unreadable pagination counts") as caught:
        await client.users.list()
    assert fake.token not in str(caught.value)


async def test_stray_ids_of_a_list_by_ids_are_redacted(
    fake: FakeKantata, client: KantataClient
) -> None:
    """A list by ids answered with an id not asked for (here the token) is a
    `ResponseValidationError` that quotes the stray id redacted."""
    me = await client.users.me()
    token = fake.token
    body = {"count": 1, "results": [{"key": "users", "id": token}], "users": {token: {"id": token}}}
    fake.fail_next(200, path="users", method="GET", body=body)
    with pytest.raises(ResponseValidationError) as caught:
        await client.users.list(only=[me.id])
    assert token not in str(caught.value)


async def test_a_content_type_echoing_the_token_is_redacted(
    fake: FakeKantata, client: KantataClient
) -> None:
    """A 2xx answer that is not JSON is a `ResponseValidationError` quoting its
    `Content-Type` with the token redacted."""
    fake.fail_next(200, path="users/me", body="hello", content_type=f"text/plain; x={fake.token}")
    with pytest.raises(ResponseValidationError, match="expected JSON") as caught:
        await client.users.me()
    assert fake.token not in str(caught.value)


@pytest.mark.parametrize("raw", [False, True], ids=["resource", "raw"])
async def test_a_traceback_never_shows_the_token(
    fake: FakeKantata, client: KantataClient, raw: bool
) -> None:
    """An envelope the graph cannot merge (the token as a record id) is a
    `ResponseValidationError` whose printed traceback, chained causes included, never
    shows the token: from a resource and from a raw call."""
    path = "users" if raw else "users/me"
    fake.fail_next(200, path=path, body={"results": [{"key": "users", "id": fake.token}]})
    with pytest.raises(ResponseValidationError) as caught:
        if raw:
            await client.get("users")
        else:
            await client.users.me()
    assert fake.token not in str(caught.value)
    assert fake.token not in "".join(traceback.format_exception(caught.value))


async def test_log_lines_never_show_the_token(
    fake: FakeKantata, client: KantataClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The warnings about records and links the merge skips (a record that is not an
    object, keyed by the token; a link that is not an id, echoing it) show it redacted."""
    me = await client.users.me()
    token = fake.token
    record = {"id": me.id, "role_id": {"echo": token}}
    body = {
        "count": 1,
        "results": [{"key": "users", "id": me.id}],
        "users": {me.id: record, token: 5},
    }
    fake.fail_next(200, path="users/me", body=body)
    with caplog.at_level(logging.DEBUG, logger="kantata_async"):
        await client.users.me()
    messages = [r.getMessage() for r in caplog.records]
    assert any("not JSON objects" in m for m in messages), messages
    assert any("ignoring a link to roles" in m for m in messages), messages
    assert [m for m in messages if token in m] == []


# -- closing ------------------------------------------------------------------------------


def _first_request_held(fake: FakeKantata) -> tuple[asyncio.Event, asyncio.Event]:
    """(arrived, release): the fake holds every request until `release` is set, and sets
    `arrived` when the first comes in."""
    arrived, release = asyncio.Event(), asyncio.Event()

    async def hold(_: RecordedRequest) -> None:
        arrived.set()
        await release.wait()

    fake.on_request = hold
    return arrived, release


def _outcomes(results: Sequence[object]) -> list[str]:
    """The type of each result, in order of name."""
    return sorted(type(r).__name__ for r in results)


def _closed(results: Sequence[object]) -> list[str]:
    """The messages of the `ClientClosedError`s among `results`."""
    return [str(r) for r in results if isinstance(r, ClientClosedError)]


async def test_calls_waiting_when_the_client_closes_raise_client_closed_error(
    fake: FakeKantata,
) -> None:
    """When the client closes with one call in flight and three waiting for its slot, the
    one in flight loses its connection and the three fail with `ClientClosedError`."""
    arrived, release = _first_request_held(fake)
    policy = RetryPolicy.instant(max_retries=0)
    client = KantataClient(fake.token, base_url=fake.base_url, retry=policy, max_concurrency=1)
    async with client:
        calls = [client.users.me(extra_headers={"X-N": str(n)}) for n in range(4)]
        pending = asyncio.gather(*calls, return_exceptions=True)
        await arrived.wait()  # the first is in flight, the others wait for its slot
        await client.aclose()
        release.set()
        results = await pending
    assert _outcomes(results) == [APIConnectionError.__name__] + [ClientClosedError.__name__] * 3
    assert all("the KantataClient was closed" in m for m in _closed(results))
    assert len(fake.requests) == 1


async def test_calls_waiting_when_the_callers_session_closes_raise_client_closed_error(
    fake: FakeKantata,
) -> None:
    """When the caller's `aiohttp.ClientSession` closes with one call in flight and three
    waiting for its slot, the one in flight loses its connection and the three fail with
    `ClientClosedError`."""
    arrived, release = _first_request_held(fake)
    policy = RetryPolicy.instant(max_retries=0)
    async with aiohttp.ClientSession() as session:
        client = KantataClient(
            fake.token, base_url=fake.base_url, retry=policy, session=session, max_concurrency=1
        )
        calls = [client.users.me(extra_headers={"X-N": str(n)}) for n in range(4)]
        pending = asyncio.gather(*calls, return_exceptions=True)
        await arrived.wait()
        await session.close()
        release.set()
        results = await pending
    assert _outcomes(results) == [APIConnectionError.__name__] + [ClientClosedError.__name__] * 3
    assert all("the caller's" in m for m in _closed(results))
    assert len(fake.requests) == 1
