"""Retries, the client-wide pause, error mapping and token hygiene, against the fake server."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import date

import aiohttp
import pytest
from conftest import visible

from kantata_async import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    KantataClient,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    RetryPolicy,
    ServerError,
    ServiceUnavailableError,
    UnprocessableEntityError,
)
from kantata_async.testing import FakeKantata, RecordedRequest

FAST = RetryPolicy(max_retries=3, backoff_base=0.01, backoff_max=0.02)


def paths(fake: FakeKantata) -> list[str]:
    return [r.path for r in fake.requests]


async def test_get_retries_503_then_succeeds(fake: FakeKantata, client: KantataClient) -> None:
    fake.fail_next(503, times=2, path="users/3")
    user = await client.users.get("3")
    assert user.id == "3"
    assert paths(fake) == ["users/3"] * 3
    assert client.transport.retries == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (422, UnprocessableEntityError),
        (500, ServerError),
    ],
)
async def test_statuses_map_to_typed_errors_without_retry(
    fake: FakeKantata, client: KantataClient, status: int, error: type[Exception]
) -> None:
    fake.fail_next(status, path="users/3")
    with pytest.raises(error) as info:
        await client.users.get("3")
    assert info.value.status == status  # type: ignore[attr-defined]
    assert info.value.method == "GET"  # type: ignore[attr-defined]
    assert info.value.path == "users/3"  # type: ignore[attr-defined]
    assert paths(fake) == ["users/3"]


async def test_retries_run_out_into_typed_errors(fake: FakeKantata) -> None:
    policy = RetryPolicy(max_retries=1, backoff_base=0.01, backoff_max=0.01)
    async with KantataClient(fake.token, base_url=fake.base_url, retry=policy) as client:
        fake.fail_next(503, times=2, path="users/3")
        with pytest.raises(ServiceUnavailableError):
            await client.users.get("3")
        fake.fail_next(502, times=2, path="users/3")
        with pytest.raises(ServerError) as info:
            await client.users.get("3")
        assert "<html" in info.value.body.lower()
        fake.fail_next(429, times=2, retry_after=0, path="users/3")
        with pytest.raises(RateLimitError) as limited:
            await client.users.get("3")
        assert limited.value.retry_after == 0.0
    assert paths(fake) == ["users/3"] * 6


async def test_a_429_pauses_every_request_of_the_client(fake: FakeKantata) -> None:
    # A policy that waits for Retry-After (the `client` fixture's retries do not wait).
    fake.fail_next(429, retry_after=1, path="users/3")
    async with KantataClient(fake.token, base_url=fake.base_url, retry=FAST) as client:
        started = time.monotonic()
        first = asyncio.create_task(client.users.get("3"))
        # Wait until the client has taken the 429 and scheduled its retry: the pause is set.
        while client.transport.retries < 1:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        other = await client.users.get("4")
        assert other.id == "4"
        # The other request could not be sent before the pause the 429 asked for ran out.
        assert time.monotonic() - started >= 1.0
        assert (await first).id == "3"
    assert paths(fake).count("users/4") == 1


async def test_retry_after_as_an_http_date_is_honoured(
    fake: FakeKantata, client: KantataClient
) -> None:
    fake.fail_next(429, retry_after="Thu, 01 Jan 1970 00:00:00 GMT", path="users/3")
    assert (await client.users.get("3")).id == "3"
    assert paths(fake) == ["users/3", "users/3"]


async def test_dropped_connection_on_get_is_retried(
    fake: FakeKantata, client: KantataClient
) -> None:
    fake.drop_next(path="users/3")
    assert (await client.users.get("3")).id == "3"
    assert paths(fake) == ["users/3", "users/3"]


async def test_post_dropped_after_sending_is_not_retried(
    fake: FakeKantata, client: KantataClient
) -> None:
    fake.drop_next(path="workweek_memberships", after_request=True)
    with pytest.raises(APIConnectionError) as info:
        await client.workweek_memberships.create(user_id="12", start_date=date(2026, 1, 4))
    assert info.value.request_sent is True
    assert "the write may have happened" in str(info.value)
    assert [r.method for r in fake.requests] == ["POST"]


async def test_post_is_retried_when_the_connection_never_opened() -> None:
    # Nothing listens on this port (taken and released), so every connect fails.
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    async with KantataClient("t", base_url=f"http://127.0.0.1:{port}/api/v1/", retry=FAST) as c:
        with pytest.raises(APIConnectionError) as info:
            await c.workweek_memberships.create(user_id="12", start_date=date(2026, 1, 4))
        assert info.value.request_sent is False
        assert c.transport.retries == FAST.max_retries


@pytest.mark.parametrize("kind", ["json", "truncated", "html"])
async def test_malformed_bodies_are_typed_errors(
    fake: FakeKantata, client: KantataClient, kind: str
) -> None:
    fake.malformed_next(kind, times=10, path="users/3")
    with pytest.raises((ResponseValidationError, APIConnectionError)) as info:
        await client.users.get("3")
    if kind != "truncated":
        assert isinstance(info.value, ResponseValidationError)
        assert info.value.status == 200
    assert client.graph.get("users", "3") is None


async def test_wrong_token_is_an_authentication_error_that_hides_the_token(
    fake: FakeKantata, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "s3cret-token-value"
    caplog.set_level(logging.DEBUG, logger="kantata_async")
    client = KantataClient(secret, base_url=fake.base_url, retry=FAST)
    async with client:
        with pytest.raises(AuthenticationError) as info:
            await client.users.me()
    assert info.value.errors[0].type == "oauth"
    assert "401 GET users/me: Invalid OAuth 2 Request" in str(info.value)
    for text in (str(info.value), repr(info.value), repr(client), caplog.text):
        assert secret not in text
    assert "users/me" in caplog.text


async def test_a_callers_session_is_used_and_left_open(fake: FakeKantata) -> None:
    async with aiohttp.ClientSession() as session:
        async with KantataClient(fake.token, base_url=fake.base_url, session=session) as client:
            await client.users.get("2")
        assert not session.closed
    assert paths(fake) == ["users/2"]


async def test_a_closed_client_refuses_calls(fake: FakeKantata) -> None:
    client = KantataClient(fake.token, base_url=fake.base_url)
    async with client:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        await client.users.get("2")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"token": ""}, "token must be a non-empty string"),
        ({"base_url": "http://api.example.com/api/v1/"}, "plain http to a non-loopback host"),
        ({"base_url": "ftp://x/"}, "must be an http"),
        ({"max_concurrency": 0}, "max_concurrency must be >= 1"),
        ({"timeout": 0}, "timeout must be > 0"),
        ({"max_retries": 2, "retry": RetryPolicy(max_retries=5)}, "not both"),
    ],
)
def test_client_arguments_are_checked(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"token": "t"} | kwargs
    with pytest.raises(ValueError, match=message):
        KantataClient(**args)  # type: ignore[arg-type]


def test_plain_http_is_allowed_to_loopback_or_by_opting_in() -> None:
    assert KantataClient("t", base_url="http://127.0.0.1:9/api/v1").base_url.path == "/api/v1/"
    assert KantataClient("t", base_url="http://localhost:9/api/v1/")
    assert KantataClient("t", base_url="http://[::1]:9/api/v1/")
    assert KantataClient("t", base_url="http://10.0.0.5/api/v1/", allow_insecure_http=True)


async def test_an_answer_is_ordered_by_when_its_request_went_out(fake: FakeKantata) -> None:
    """A GET that waited for the client's only slot, behind a write issued after it, is
    ordered after that write: the server answered it with what it held after the write."""
    uid = sorted(visible(fake), key=int)[5]
    fake.fail_next(503, path=f"users/{uid}", method="GET", retry_after=0)
    first_get = asyncio.Event()

    async def server_side(request: RecordedRequest) -> None:
        gets = [r for r in fake.requests if (r.method, r.path) == ("GET", f"users/{uid}")]
        if request.method == "GET" and len(gets) == 1:
            await first_get.wait()  # hold the GET's first attempt (answered 503)
        elif request.method == "GET":
            # Someone else edits the user after the write, before the retry is served.
            fake.dataset.update("users", uid, headline="Edited elsewhere")

    fake.on_request = server_side
    async with KantataClient(
        fake.token, base_url=fake.base_url, max_concurrency=1, retry=FAST
    ) as client:
        get = asyncio.create_task(client.users.get(uid))
        while not fake.requests:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        write = asyncio.create_task(client.users.update(uid, headline="Written"))
        for _ in range(5):
            await asyncio.sleep(0)  # the write waits for the slot the held GET has
        first_get.set()  # 503: the GET gives the slot up and queues behind the write
        written, user = await write, await get
    assert [(r.method, r.status) for r in fake.requests] == [
        ("GET", 503),
        ("PUT", 200),
        ("GET", 200),
    ]
    assert user is written
    assert user.headline == "Edited elsewhere"  # not held at the write's value
