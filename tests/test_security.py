"""TLS is always verified, the token never leaks, trace configs pass through."""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator
from types import SimpleNamespace

import aiohttp
import pytest
import trustme
from aiohttp import web

from kantata_async import APIConnectionError, KantataClient, NotFoundError, RetryPolicy
from kantata_async.testing import FakeKantata

FAST = RetryPolicy.instant(max_retries=1)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def tls_url(ca: trustme.CA) -> AsyncIterator[str]:
    """An HTTPS server on loopback with a certificate from a private CA."""

    async def me(_: web.Request) -> web.Response:
        return web.json_response(
            {
                "count": 1,
                "meta": {"count": 1, "page_count": 1, "page_number": 1, "page_size": 20},
                "results": [{"key": "users", "id": "1"}],
                "users": {"1": {"id": "1", "full_name": "Ann"}},
            }
        )

    app = web.Application()
    app.router.add_get("/api/v1/users/me", me)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"https://127.0.0.1:{port}/api/v1/"
    finally:
        await runner.cleanup()


async def test_an_untrusted_certificate_is_refused(tls_url: str) -> None:
    async with KantataClient("t", base_url=tls_url, retry=FAST) as client:
        with pytest.raises(APIConnectionError, match="certificate") as info:
            await client.users.me()
    assert info.value.request_sent is False


async def test_a_private_ca_is_trusted_through_an_ssl_context(ca: trustme.CA, tls_url: str) -> None:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    async with KantataClient("t", base_url=tls_url, ssl=ctx) as client:
        me = await client.users.me()
    assert me.full_name == "Ann"


def test_a_context_that_does_not_verify_is_refused() -> None:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with pytest.raises(ValueError, match="does not verify certificates"):
        KantataClient("t", ssl=ctx)
    with pytest.raises(ValueError, match=r"must be an ssl\.SSLContext"):
        KantataClient("t", ssl=False)  # type: ignore[arg-type]


async def test_the_token_never_appears_in_logs_reprs_or_errors(
    fake: FakeKantata, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kantata_async")
    fake.fail_next(503, times=1, path="users")
    texts: list[str] = []
    async with KantataClient(fake.token, base_url=fake.base_url, retry=FAST) as client:
        texts += [repr(client), repr(client.transport), str(vars(client.transport))]
        texts.append(str(vars(client)))
        async for user in client.users.list(include=["role"], per_page=25):
            texts.append(repr(user))
        try:
            await client.users.get("424242")
        except NotFoundError as err:
            texts += [str(err), repr(err), str(err.body)]
    texts.append(caplog.text)
    assert "retrying GET users" in caplog.text  # the retry was logged at INFO
    assert "GET users/424242 -> 404" in caplog.text  # each request at DEBUG
    for text in texts:
        assert fake.token not in text
    assert fake.token not in repr(fake.requests[0])


async def test_trace_configs_pass_through(fake: FakeKantata) -> None:
    seen: list[str] = []

    async def on_start(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        seen.append(f"{params.method} {params.url.path}")

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    async with KantataClient(fake.token, base_url=fake.base_url, trace_configs=[trace]) as client:
        await client.users.get("2")
    assert seen == ["GET /api/v1/users/2"]
