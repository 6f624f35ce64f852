"""Secrets at every edge, checks at construction, event loops, and decoding without orjson."""

from __future__ import annotations

import asyncio
import html
import json
import logging
import subprocess
import sys
import traceback
from urllib.parse import quote, quote_plus

import aiohttp
import orjson
import pytest
from aiohttp import web
from servers import AppServer, RawServer

from kantata_async import (
    APIConnectionError,
    ClientClosedError,
    EventLoopError,
    KantataClient,
    KantataError,
    ResponseValidationError,
    RetryPolicy,
    UnprocessableEntityError,
)
from kantata_async import _json as kjson
from kantata_async.oauth import OAuthError, authorization_url, exchange_code
from kantata_async.testing import FakeKantata

FAST = RetryPolicy.instant(max_retries=2)
# Characters that make every spelling differ: raw, percent-encoded, JSON- and HTML-escaped.
TOKEN = 'k3y/with+sp=ci&l"chars<0123456789>'
SPELLINGS = {
    TOKEN,
    quote(TOKEN, safe=""),
    quote(TOKEN, safe="").lower(),
    quote_plus(TOKEN),
    json.dumps(TOKEN)[1:-1],
    html.escape(TOKEN),
}


def assert_hidden(*texts: str) -> None:
    for text in texts:
        for spelling in SPELLINGS:
            assert spelling not in text, (spelling, text)


# -- server text is redacted -----------------------------------------------------------


async def test_a_token_echoed_in_a_body_that_is_not_an_envelope_is_redacted() -> None:
    async def echo(request: web.Request) -> web.Response:
        sent = request.headers["Authorization"].removeprefix("Bearer ")
        # A 200 whose `results` names an entry the SDK quotes in its error.
        return web.json_response({"results": [{"key": "users", "token": sent}]})

    app = web.Application()
    app.router.add_get("/api/v1/users/1", echo)
    async with (
        AppServer(app) as server,
        KantataClient(TOKEN, base_url=server.url(), retry=FAST) as client,
    ):
        with pytest.raises(ResponseValidationError) as info:
            await client.users.get("1")
    assert "needs 'key' and 'id'" in str(info.value)
    assert_hidden(str(info.value), repr(info.value))


async def test_a_token_echoed_by_the_server_is_redacted_everywhere(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="kantata_async")
    answers = iter([503, 422])

    async def echo(request: web.Request) -> web.Response:
        sent = request.headers["Authorization"].removeprefix("Bearer ")
        if next(answers) == 503:
            return web.Response(status=503, text=f"overloaded, token {sent}")
        errors = [
            {"type": "oauth", "message": f"token {sent} is not allowed here"},
            {"type": "validation", "message": f"see ?t={quote(sent, safe='')}", "field": "t"},
            {"type": "system", "message": f"lower {quote(sent, safe='').lower()}"},
            {"type": "system", "message": f"html {html.escape(sent)} form {quote_plus(sent)}"},
        ]
        return web.json_response({"errors": errors}, status=422)

    app = web.Application()
    app.router.add_get("/api/v1/users/1", echo)
    async with (
        AppServer(app) as server,
        KantataClient(TOKEN, base_url=server.url(), retry=FAST) as client,
    ):
        with pytest.raises(UnprocessableEntityError) as info:
            await client.users.get("1")
    err = info.value
    assert "token [redacted] is not allowed here" in str(err)
    assert err.field_errors["t"] == ["see ?t=[redacted]"]
    assert "retrying GET users/1" in caplog.text  # the 503 was logged with its body
    assert_hidden(str(err), repr(err), err.body, repr(err.errors), caplog.text)
    assert_hidden("".join(traceback.format_exception(err)))


async def test_a_token_echoed_in_a_malformed_status_line_is_redacted() -> None:
    answer = b"HTTP/1.1 2x0 " + TOKEN.encode() + b"\r\nContent-Length: 0\r\n\r\n"
    async with (
        RawServer(answer) as server,
        KantataClient(TOKEN, base_url=server.url(), retry=FAST) as client,
    ):
        with pytest.raises(APIConnectionError, match="not valid HTTP") as info:
            await client.users.get("1")
    # The traceback prints the cause too: aiohttp's exception quotes the line, so it is not
    # chained as is.
    assert_hidden(str(info.value), "".join(traceback.format_exception(info.value)))
    assert "[redacted]" in str(info.value.__cause__)


async def test_the_client_secret_and_code_echoed_by_the_token_endpoint_are_redacted() -> None:
    secret, code = "s3cr/et+v=alue&x", "c0de/with+chars"

    async def token(request: web.Request) -> web.Response:
        form = await request.post()
        description = (
            f"secret {quote(str(form['client_secret']), safe='')} "
            f"and {json.dumps(str(form['code']))} rejected"
        )
        return web.json_response(
            {"error": "invalid_client", "error_description": description}, status=401
        )

    app = web.Application()
    app.router.add_post("/oauth/token", token)
    async with AppServer(app) as server:
        with pytest.raises(OAuthError) as info:
            await exchange_code(
                code,
                client_id="id",
                client_secret=secret,
                redirect_uri="https://example.com/cb",
                base_url=server.url("/"),
            )
    assert info.value.error_description == 'secret [redacted] and "[redacted]" rejected'
    for text in (str(info.value), repr(info.value)):
        for hidden in (secret, code, quote(secret, safe=""), json.dumps(code)):
            assert hidden not in text


async def test_the_token_exchange_maps_malformed_http_like_the_client() -> None:
    answer = b"HTTP/1.1 2x0 s3cr/et\r\nContent-Length: 0\r\n\r\n"
    async with RawServer(answer) as server:
        with pytest.raises(APIConnectionError, match="POST oauth/token: the answer is not valid"):
            await exchange_code(
                "c0de",
                client_id="id",
                client_secret="s3cr/et",
                redirect_uri="https://example.com/cb",
                base_url=server.url("/"),
            )
    assert server.paths == ["POST /oauth/token"]


# -- checked at construction ---------------------------------------------------------------


@pytest.mark.parametrize("char", ["\x00", "\x7f", "\x0b", "\x1b", "\t", "\r", "\x85", "\ud800"])
def test_a_token_with_control_characters_is_refused_without_echo(char: str) -> None:
    token = f"secretpart{char}rest"
    with pytest.raises(ValueError, match="token must not contain control characters") as info:
        KantataClient(token)
    assert "secretpart" not in str(info.value) and "rest" not in str(info.value)
    with pytest.raises(ValueError, match="user_agent must not contain control characters"):
        KantataClient("tok", user_agent=f"agent{char}")


@pytest.mark.parametrize(
    "base_url",
    [
        "https://user:hunter2@api.example.com/api/v1/",
        "https://:hunter2@api.example.com/api/v1/",
        "http://user%40x:hunter2@127.0.0.1:9/api/v1/",
        "ftp://user:hunter2@api.example.com/",
    ],
)
async def test_a_base_url_with_credentials_is_refused_without_echo(base_url: str) -> None:
    with pytest.raises(ValueError, match="must not contain a user name or password") as info:
        KantataClient("tok", base_url=base_url)
    assert "hunter2" not in str(info.value)
    with pytest.raises(ValueError, match="must not contain a user name") as info:
        authorization_url("id", "https://example.com/cb", base_url=base_url)
    assert "hunter2" not in str(info.value)
    with pytest.raises(ValueError, match="must not contain a user name"):
        await exchange_code(
            "c", client_id="i", client_secret="s", redirect_uri="https://x/cb", base_url=base_url
        )


# -- event loops and closed clients -------------------------------------------------------


def test_a_client_reused_in_a_second_asyncio_run_says_what_to_do() -> None:
    async def first() -> KantataClient:
        async with FakeKantata(users=3, seed=1) as fake, aiohttp.ClientSession() as session:
            client = KantataClient(fake.token, base_url=fake.base_url, session=session)
            assert (await client.users.me()).id == fake.me
            return client  # not closed: as in a script that calls asyncio.run() twice

    client = asyncio.run(first())

    async def second() -> None:
        with pytest.raises(EventLoopError, match="another event loop, which is now closed") as e:
            await client.users.me()
        assert "one client per loop" in str(e.value)
        with pytest.raises(EventLoopError):
            async with client:
                pass

    asyncio.run(second())
    assert issubclass(EventLoopError, KantataError) and issubclass(EventLoopError, RuntimeError)


def test_a_client_used_from_another_loop_is_refused_and_closes_in_its_own(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.new_event_loop()
    fake = FakeKantata(users=3, seed=1)
    try:
        loop.run_until_complete(fake.start())
        client = KantataClient(fake.token, base_url=fake.base_url)
        loop.run_until_complete(client.users.me())

        async def elsewhere() -> None:
            with pytest.raises(EventLoopError, match="first used in another event loop"):
                await client.users.me()
            await client.aclose()  # cannot close the session here: logs, does not raise

        asyncio.run(elsewhere())
        assert "cannot be closed from here" in caplog.text
        loop.run_until_complete(client.aclose())
        with pytest.raises(ClientClosedError):
            loop.run_until_complete(client.users.me())
    finally:
        loop.run_until_complete(fake.close())
        loop.close()
    assert len(fake.requests) == 1


def test_a_client_outside_any_event_loop_says_so() -> None:
    with pytest.raises(EventLoopError, match="needs a running event loop"):
        _ = KantataClient("tok").transport


async def test_closed_clients_and_sessions_raise_a_typed_error(fake: FakeKantata) -> None:
    client = KantataClient(fake.token, base_url=fake.base_url)
    await client.aclose()
    with pytest.raises(ClientClosedError, match="is closed") as info:
        await client.users.me()
    assert isinstance(info.value, KantataError) and isinstance(info.value, RuntimeError)
    async with aiohttp.ClientSession() as session:
        other = KantataClient(fake.token, base_url=fake.base_url, session=session)
    with pytest.raises(ClientClosedError, match="aiohttp session given"):
        await other.users.me()
    assert fake.requests == []


# -- decoding without orjson ---------------------------------------------------------------

WITHOUT_ORJSON = r"""
import asyncio, sys
sys.modules["orjson"] = None  # as when the `fast` extra is not installed
from aiohttp import web
from kantata_async import KantataClient, KantataError, _json

assert _json.loads is _json.stdlib_loads
META = '"meta": {"count": 1e400, "page_count": 1, "page_number": 1, "page_size": 20}'
BODIES = {
    "/api/v1/users": '{"count": 1e400, ' + META + ', "results": [], "users": {}}',
    "/api/v1/users/1": "[" * 5000 + "]" * 5000,
    "/api/v1/users/2": '{"count": ' + "9" * 5000 + "}",
    "/api/v1/users/3": '{"count": NaN}',
}

async def main():
    async def answer(request):
        return web.Response(text=BODIES[request.path], content_type="application/json")
    app = web.Application()
    app.router.add_get("/api/v1/users", answer)
    app.router.add_get("/api/v1/users/{id}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/v1/"
    async with KantataClient("tok-0123456789", base_url=url) as client:
        calls = [client.users.list(), *(client.users.get(i) for i in "123")]
        for call in calls:
            try:
                await call
                print("no error")
            except BaseException as err:
                print(type(err).__name__, isinstance(err, KantataError))
    await runner.cleanup()

asyncio.run(main())
"""


def test_without_orjson_bad_numbers_and_deep_nesting_are_validation_errors() -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_ORJSON], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["ResponseValidationError True"] * 4


@pytest.mark.parametrize(
    "doc",
    ["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "1e308", "[1.5, 2]", '{"a": [null]}'],
)
def test_the_stdlib_decoder_accepts_what_orjson_accepts(doc: str) -> None:
    try:
        expected = orjson.loads(doc)
    except orjson.JSONDecodeError:
        with pytest.raises(kjson.DECODE_ERRORS):
            kjson.stdlib_loads(doc)
    else:
        assert kjson.stdlib_loads(doc) == expected
