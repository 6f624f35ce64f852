"""Per-client and per-call options: `Timeout`, `with_options`, `timeout=` / `extra_headers=` /
`extra_query=` on every method, and the answer's headers and request id on errors."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator

import aiohttp
import pytest
from conftest import on_my_account, visible
from servers import RawServer, response

from kantata_async import (
    APITimeoutError,
    ClientClosedError,
    KantataClient,
    NotFoundError,
    ResponseValidationError,
    RetryPolicy,
    ServerError,
    ServiceUnavailableError,
    Timeout,
)
from kantata_async._options import Options
from kantata_async.resources._registry import RESOURCES
from kantata_async.testing import FakeKantata

INSTANT = RetryPolicy.instant(max_retries=3)


@pytest.fixture
async def slow() -> AsyncIterator[FakeKantata]:
    """A fake whose answers take 200 ms."""
    async with FakeKantata(users=60, seed=5, latency=0.2) as server:
        yield server


def someone(fake: FakeKantata) -> str:
    return min(visible(fake), key=int)


# -- Timeout --------------------------------------------------------------------------------


def test_a_timeout_maps_to_aiohttp_by_phase() -> None:
    sent = Options(timeout=Timeout(30, connect=5, read=20)).client_timeout
    assert (sent.total, sent.sock_connect, sent.sock_read) == (30, 5, 20)
    assert Options(timeout=Timeout.of(7)).client_timeout.total == 7
    assert Options().client_timeout.total == 185.0  # a little longer than Kantata waits
    assert str(Timeout(30, read=20)) == "total 30 s, read 20 s"


@pytest.mark.parametrize(
    "build",
    [
        lambda: Timeout(0),
        lambda: Timeout(connect=-1),
        lambda: Timeout(read=float("nan")),
        lambda: Timeout("5"),  # type: ignore[arg-type]
        lambda: Timeout.of(True),
        lambda: Timeout.of(0),
    ],
)
def test_a_timeout_is_positive_seconds(build: object) -> None:
    with pytest.raises(ValueError, match="> 0 seconds"):
        build()  # type: ignore[operator]


async def test_a_read_timeout_names_its_phase(slow: FakeKantata) -> None:
    quick = Timeout(None, read=0.05)
    no_retry = RetryPolicy(max_retries=0)
    async with KantataClient(
        slow.token, base_url=slow.base_url, timeout=quick, retry=no_retry
    ) as client:
        with pytest.raises(APITimeoutError, match=r"sent nothing for 0\.05 s \(Timeout\.read\)"):
            await client.users.me()


async def test_a_per_call_timeout_applies_to_that_call_only(slow: FakeKantata) -> None:
    async with KantataClient(slow.token, base_url=slow.base_url, max_retries=0) as client:
        with pytest.raises(APITimeoutError, match=r"within 0\.05 s"):
            await client.users.me(timeout=0.05)
        me = await client.users.me()  # the client's own timeout: the answer comes
        assert me.id == slow.me
        assert client.timeout == Timeout()


# -- with_options -------------------------------------------------------------------------


async def test_a_view_shares_the_session_graph_and_rate(fake: FakeKantata) -> None:
    async with KantataClient(fake.token, base_url=fake.base_url, retry=INSTANT) as client:
        view = client.with_options(timeout=Timeout(10, connect=3), max_retries=1)
        assert (view.timeout, view.retry.max_retries) == (Timeout(10, connect=3), 1)
        assert (client.timeout, client.retry.max_retries) == (Timeout(), 3)
        user = await view.users.get(someone(fake))
        assert await client.users.get(someone(fake)) is user  # one graph
        assert view.graph is client.graph
        assert view.transport is client.transport  # one session, one rate controller
        assert view.users is not client.users  # resources of the view use its options
        await view.aclose()  # a view owns nothing
        assert (await client.users.me()).id == fake.me
    with pytest.raises(ClientClosedError):
        await view.users.me()  # closing the client closed its views


async def test_a_view_retries_as_it_says(fake: FakeKantata) -> None:
    async with KantataClient(fake.token, base_url=fake.base_url, retry=INSTANT) as client:
        fake.fail_next(503, path="users/me")
        with pytest.raises(ServiceUnavailableError):
            await client.with_options(max_retries=0).users.me()
        fake.fail_next(503, path="users/me")
        assert (await client.users.me()).id == fake.me  # the client itself retried
    assert [r.status for r in fake.requests] == [503, 503, 200]


async def test_a_view_can_lower_the_concurrency_not_raise_it(fake: FakeKantata) -> None:
    in_flight = peak = 0

    async def hold(_: object) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.03)
        in_flight -= 1

    fake.on_request = hold
    ids = sorted(visible(fake), key=int)[:8]
    async with KantataClient(fake.token, base_url=fake.base_url, max_concurrency=8) as client:
        await asyncio.gather(*(client.users.get(i) for i in ids))
        assert peak == 8  # without a view, eight at once
        peak = 0
        view = client.with_options(max_concurrency=2)
        assert view.max_concurrency == 2
        await asyncio.gather(*(view.users.get(i) for i in ids))
        assert peak == 2
        for bad in (9, 0, True, 2.0):
            with pytest.raises(ValueError, match="max_concurrency"):
                client.with_options(max_concurrency=bad)  # type: ignore[arg-type]


# -- extra headers and query ----------------------------------------------------------------


async def test_every_request_of_a_call_carries_its_extras(fake: FakeKantata) -> None:
    async with KantataClient(fake.token, base_url=fake.base_url, retry=INSTANT) as client:
        users = [
            user
            async for user in client.users.list(
                on_my_account=True,
                include=["account_membership.skill_memberships"],
                extra_headers={"X-Trace": "abc"},
                per_page=20,
            )
        ]
        assert sorted((u.id for u in users), key=int) == on_my_account(fake, disabled=False)
        await client.users.me()  # the client's own calls carry nothing extra
    traced = [r.path for r in fake.requests if r.header("X-Trace") == "abc"]
    assert "account_memberships" in traced  # the nested level too
    assert traced == [r.path for r in fake.requests[:-1]]
    assert fake.requests[-1].header("X-Trace") is None


async def test_extra_query_reaches_the_server(fake: FakeKantata) -> None:
    async with KantataClient(fake.token, base_url=fake.base_url, retry=INSTANT) as client:
        view = client.with_options(extra_query={"on_my_account": "true"})
        users = [user async for user in view.users.list(per_page=50)]
        assert sorted((u.id for u in users), key=int) == on_my_account(fake, disabled=False)
        # A filter the fake does not model is refused, loudly, as a typed error.
        with pytest.raises(ServerError, match="501"):
            await client.users.list(extra_query={"matching": "ann"}).page(1)
    assert fake.requests[-1].query["matching"] == "ann"


async def test_extras_cannot_replace_what_the_call_sets(client: KantataClient) -> None:
    with pytest.raises(ValueError, match="extra_query cannot set 'page'"):
        await client.users.list(extra_query={"page": "3"}).page(1)
    with pytest.raises(ValueError, match="extra_query cannot set 'include'"):
        await client.users.me(include=["role"], extra_query={"include": "skills"})
    with pytest.raises(ValueError, match="extra_query sets 'on_my_account'"):
        await client.users.list(on_my_account=True, extra_query={"on_my_account": "0"}).page(1)
    for name in ("Authorization", "authorization", "Content-Type", "Host"):
        with pytest.raises(ValueError, match="cannot set"):
            client.with_options(extra_headers={name: "x"})
    for headers in ({"X-A": "a\r\nX-B: b"}, {"X A": "v"}, {"X-A": 5}, {"": "v"}):
        with pytest.raises(ValueError, match="extra_headers"):
            await client.users.me(extra_headers=headers)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="extra_query"):
        client.with_options(extra_query={"a": None})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="max_retries"):
        client.with_options(max_retries=-1)


def test_extras_given_twice_take_the_last_value() -> None:
    from kantata_async._options import options_with

    first = options_with(Options(), extra_headers={"X-Trace": "a"}, extra_query={"q": "1"})
    second = options_with(first, extra_headers={"x-trace": "b"}, extra_query={"r": "2"})
    assert second.headers == (("x-trace", "b"),)
    assert second.query == (("q", "1"), ("r", "2"))
    assert options_with(second) is second


async def test_only_calls_with_equal_options_share_a_read(slow: FakeKantata) -> None:
    async with KantataClient(slow.token, base_url=slow.base_url) as client:
        uid = someone(slow)
        await asyncio.gather(
            client.users.get(uid),
            client.users.get(uid, extra_headers={"X-Trace": "1"}),
            client.users.get(uid, extra_headers={"X-Trace": "1"}),
            client.with_options(extra_headers={"X-Trace": "1"}).users.get(uid),
        )
    assert [r.header("X-Trace") for r in slow.requests] in ([None, "1"], ["1", None])


def test_every_method_of_every_resource_takes_the_call_options() -> None:
    missing = []
    for key, cls in RESOURCES.items():
        for name, method in inspect.getmembers(cls, inspect.isfunction):
            if name.startswith("_"):
                continue
            params = inspect.signature(method).parameters
            if not {"timeout", "extra_headers", "extra_query"} <= set(params):
                missing.append(f"{key}.{name}")
    assert missing == []


# -- headers and request ids on errors ---------------------------------------------------------


async def test_a_status_error_carries_the_headers_and_request_id(client: KantataClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        await client.users.get("999999")
    err = caught.value
    assert err.request_id is not None
    assert f"[request id {err.request_id}]" in str(err)
    assert err.headers["content-type"].startswith("application/json")  # any case
    assert err.headers["X-Request-Id"] == err.request_id


async def test_the_fake_records_the_request_id_it_sent(fake: FakeKantata) -> None:
    async with KantataClient(fake.token, base_url=fake.base_url) as client:
        with pytest.raises(NotFoundError) as caught:
            await client.users.get("999999")
    assert caught.value.request_id == fake.requests[-1].request_id
    assert len({r.request_id for r in fake.requests}) == len(fake.requests)


async def test_error_headers_never_hold_the_token() -> None:
    token = "s3cret-token-value"
    echo = response(
        "404 Not Found",
        b'{"errors": []}',
        (b"X-Echo: Bearer " + token.encode(), b"X-Request-Id: req-1"),
    )
    async with (
        RawServer(echo) as server,
        KantataClient(token, base_url=server.url()) as client,
    ):
        with pytest.raises(NotFoundError) as caught:
            await client.users.me()
    err = caught.value
    assert token not in err.headers["X-Echo"]
    assert token not in repr(dict(err.headers))
    assert err.request_id == "req-1"


async def test_an_answer_without_a_request_id() -> None:
    plain = response("404 Not Found", b'{"errors": []}')
    async with (
        RawServer(plain) as server,
        KantataClient("t0ken-value", base_url=server.url()) as client,
    ):
        with pytest.raises(NotFoundError) as caught:
            await client.users.me()
    assert caught.value.request_id is None
    assert "request id" not in str(caught.value)


async def test_a_body_that_is_not_json_carries_the_request_id() -> None:
    html = response("200 OK", b"<html>maintenance</html>", (b"X-Request-Id: req-9",))
    html = html.replace(b"application/json", b"text/html")
    async with (
        RawServer(html) as server,
        KantataClient("t0ken-value", base_url=server.url()) as client,
    ):
        with pytest.raises(ResponseValidationError) as caught:
            await client.users.me()
    assert caught.value.request_id == "req-9"
    assert "[request id req-9]" in str(caught.value)


async def test_a_session_given_by_the_caller_is_shared_by_views(fake: FakeKantata) -> None:
    async with aiohttp.ClientSession() as session:
        client = KantataClient(fake.token, base_url=fake.base_url, session=session)
        view = client.with_options(timeout=30)
        assert (await view.users.me()).id == fake.me
        await client.aclose()
        assert not session.closed  # the caller's session stays theirs
