"""Malformed HTTP, redirects, a caller's session and body limits, against real local servers.

Raw-socket servers (`servers.RawServer`) send what FakeKantata never would: a bad status line,
a NUL in a header, broken chunking. Every failure must be a typed `KantataError`.
"""

from __future__ import annotations

import gzip
import json
import tracemalloc
from datetime import date

import aiohttp
import pytest
from aiohttp import web
from servers import AppServer, RawServer, response

from kantata_async import (
    APIConnectionError,
    KantataClient,
    NotFoundError,
    RedirectError,
    ResponseTooLargeError,
    ResponseValidationError,
    RetryPolicy,
    UnexpectedRedirectError,
)
from kantata_async.testing import FakeKantata

FAST = RetryPolicy.instant(max_retries=2)
TOKEN = "tok-0123456789abcdef"
USER = json.dumps(
    {
        "count": 1,
        "meta": {"count": 1, "page_count": 1, "page_number": 1, "page_size": 20},
        "results": [{"key": "users", "id": "1"}],
        "users": {"1": {"id": "1", "full_name": "Ann"}},
    }
).encode()
JSON_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"

MALFORMED = {
    "bad status line": b"HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\n{}",
    "NUL in a header": JSON_HEAD + b"X-A: a\x00b\r\nContent-Length: 2\r\n\r\n{}",
    "header over 8 KB": JSON_HEAD + b"X-A: " + b"a" * 9000 + b"\r\nContent-Length: 2\r\n\r\n{}",
    "bad chunking": JSON_HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "two Content-Length": JSON_HEAD + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
}


def client_for(url: str, **kwargs: object) -> KantataClient:
    return KantataClient(TOKEN, base_url=url, retry=FAST, **kwargs)  # type: ignore[arg-type]


# -- malformed HTTP ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(MALFORMED))
async def test_malformed_http_is_a_connection_error_retried_for_a_get(kind: str) -> None:
    async with RawServer(MALFORMED[kind]) as server, client_for(server.url()) as client:
        with pytest.raises(APIConnectionError, match="GET users/1: ") as info:
            await client.users.get("1")
    assert info.value.request_sent is True
    assert "not valid HTTP" in str(info.value) or "connection lost" in str(info.value)
    assert server.paths == ["GET /api/v1/users/1"] * (1 + FAST.max_retries)


@pytest.mark.parametrize("kind", list(MALFORMED))
async def test_malformed_http_after_a_post_is_not_retried(kind: str) -> None:
    async with RawServer(MALFORMED[kind]) as server, client_for(server.url()) as client:
        with pytest.raises(APIConnectionError, match="the write may have happened") as info:
            await client.workweek_memberships.create(user_id="12", start_date=date(2026, 1, 4))
    assert info.value.request_sent is True
    assert server.paths == ["POST /api/v1/workweek_memberships"]


# -- redirects -----------------------------------------------------------------------------


def redirect(location: bytes, status: bytes = b"302 Found") -> bytes:
    return b"HTTP/1.1 " + status + b"\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n\r\n"


def post_redirected_to_user(head: bytes) -> bytes:
    if head.startswith(b"GET /api/v1/users/1 "):
        return response(body=USER)
    return redirect(b"/api/v1/users/1?code=" + TOKEN.encode())


@pytest.mark.parametrize(
    ("status", "call"),
    [
        (b"302 Found", "create"),
        (b"303 See Other", "create"),
        (b"307 Temporary Redirect", "update"),
        (b"301 Moved Permanently", "delete"),
    ],
)
async def test_a_write_answered_with_a_redirect_is_not_followed(status: bytes, call: str) -> None:
    def answer(head: bytes) -> bytes:
        if head.startswith(b"GET "):
            return response(body=USER)
        return redirect(b"http://u:hunter2@127.0.0.1:1/api/v1/users/1?t=" + TOKEN.encode(), status)

    async with RawServer(answer) as server, client_for(server.url()) as client:
        memberships = client.workweek_memberships
        with pytest.raises(UnexpectedRedirectError) as info:
            if call == "create":
                await memberships.create(user_id="12", start_date=date(2026, 1, 4))
            elif call == "update":
                await memberships.update("5", friday_minutes=240)
            else:
                await memberships.delete("5")
    err = info.value
    assert err.status == int(status[:3])
    assert err.location == "http://127.0.0.1:1/api/v1/users/1?t=[redacted]"
    assert "writes never follow redirects" in str(err)
    for text in (str(err), repr(err), err.body):
        assert "hunter2" not in text and TOKEN not in text
    assert not any(path.startswith("GET") for path in server.paths)
    assert len(server.paths) == 1


@pytest.mark.parametrize("call", ["create", "get", "list", "nested"])
async def test_an_answer_of_another_record_type_is_a_validation_error(call: str) -> None:
    # A server (or whatever stands in front of it) answers every request with a user.
    async with RawServer(response(body=USER)) as server, client_for(server.url()) as client:
        memberships = client.workweek_memberships
        with pytest.raises(ResponseValidationError, match=r"expected \w+ records, but"):
            if call == "create":
                await memberships.create(user_id="12", start_date=date(2026, 1, 4))
            elif call == "get":
                await memberships.get("5")
            elif call == "list":
                await memberships.list()
            else:  # a nested level, fetched by the SDK with only=
                await client.account_memberships.list(only=["1"])
    assert client.graph.get("users", "1") is None  # nothing of it was merged


async def test_a_get_follows_a_same_origin_redirect_with_its_token() -> None:
    def answer(head: bytes) -> bytes:
        if head.startswith(b"GET /api/v1/users/1 "):
            return response(body=USER)
        return redirect(b"/api/v1/users/1")

    async with RawServer(answer) as server, client_for(server.url()) as client:
        user = await client.users.get("2")
    assert user.id == "1"
    assert server.paths == ["GET /api/v1/users/2", "GET /api/v1/users/1"]
    assert all(b"Authorization: Bearer " + TOKEN.encode() in head for head in server.heads)


async def test_the_token_never_follows_a_redirect_to_another_origin() -> None:
    async def user(_: web.Request) -> web.Response:
        return web.Response(body=USER, content_type="application/json")

    other_app = web.Application()
    other_app.router.add_get("/api/v1/users/1", user)
    async with AppServer(other_app) as other:

        async def moved(_: web.Request) -> web.Response:
            raise web.HTTPFound(other.url("/api/v1/users/1"))

        app = web.Application()
        app.router.add_get("/api/v1/users/1", moved)
        async with AppServer(app) as first, client_for(first.url()) as client:
            assert (await client.users.get("1")).full_name == "Ann"
    assert first.seen[0][2]["Authorization"] == f"Bearer {TOKEN}"
    assert [path for _, path, _ in other.seen] == ["/api/v1/users/1"]
    assert "Authorization" not in other.seen[0][2]


@pytest.mark.parametrize(
    ("location", "message", "shown"),
    [
        (b"/api/v1/users/1", "gave up after 10 redirects", "/api/v1/users/1"),
        (b"ftp://u:hunter2@example.com/x", "cannot follow the redirect", "ftp://example.com/x"),
        (b"http://[::1", "cannot follow the redirect", "http://[::1"),
        (b"http:///nohost", "cannot follow the redirect", "http:///nohost"),
    ],
)
async def test_a_get_redirect_that_cannot_be_followed_is_a_redirect_error(
    location: bytes, message: str, shown: str
) -> None:
    async with RawServer(redirect(location)) as server, client_for(server.url()) as client:
        with pytest.raises(RedirectError, match=message) as info:
            await client.users.get("1")
    assert isinstance(info.value, APIConnectionError)
    assert info.value.request_sent is True
    assert info.value.location is not None and info.value.location.endswith(shown)
    assert "hunter2" not in str(info.value)
    # Not retried: the server would redirect the same way again.
    assert len(server.paths) == (10 if location.startswith(b"/") else 1)


async def test_a_same_origin_redirect_to_a_url_with_credentials_is_typed() -> None:
    def answer(head: bytes) -> bytes:
        port = head.split(b"Host: 127.0.0.1:", 1)[1].split(b"\r\n", 1)[0]
        return redirect(b"http://u:hunter2@127.0.0.1:" + port + b"/api/v1/users/1")

    async with RawServer(answer) as server, client_for(server.url()) as client:
        with pytest.raises(RedirectError) as info:
            await client.users.get("1")
    assert "hunter2" not in str(info.value)
    assert len(server.paths) == 1


async def test_a_get_answered_with_a_redirect_it_cannot_follow_is_a_status_error() -> None:
    answer = b"HTTP/1.1 304 Not Modified\r\nContent-Length: 0\r\n\r\n"
    async with RawServer(answer) as server, client_for(server.url()) as client:
        with pytest.raises(UnexpectedRedirectError) as info:
            await client.users.get("1")
    assert (info.value.status, info.value.location) == (304, None)


# -- a caller's session --------------------------------------------------------------------


async def test_a_session_with_raise_for_status_behaves_like_any_other(fake: FakeKantata) -> None:
    async with (
        aiohttp.ClientSession(raise_for_status=True) as session,
        KantataClient(fake.token, base_url=fake.base_url, session=session, retry=FAST) as client,
    ):
        fake.fail_next(429, retry_after=0, path="users/3")
        assert (await client.users.get("3")).id == "3"
        with pytest.raises(NotFoundError):
            await client.users.get("424242")
    assert [r.path for r in fake.requests] == ["users/3", "users/3", "users/424242"]


# -- body limits ---------------------------------------------------------------------------

LIMIT = 1024 * 1024
BOMB = 64 * 1024 * 1024  # decoded size; about 64 KB on the wire


async def test_a_gzip_bomb_stops_at_max_response_bytes() -> None:
    bomb = gzip.compress(b"[" + b" " * BOMB + b"]", compresslevel=9)

    async def answer(_: web.Request) -> web.Response:
        return web.Response(
            body=bomb,
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )

    app = web.Application()
    app.router.add_get("/api/v1/users/1", answer)
    async with AppServer(app) as server, client_for(server.url(), max_response_bytes=LIMIT) as c:
        assert len(bomb) < LIMIT
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLargeError) as info:
                await c.users.get("1")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert (info.value.status, info.value.limit) == (200, LIMIT)
    assert "larger than 1,048,576 bytes" in str(info.value)
    assert peak < 16 * 1024 * 1024  # reading stopped near the limit, not at 64 MB
    assert server.paths == ["GET /api/v1/users/1"]  # not retried


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_plain_body_past_the_limit_is_refused(chunked: bool) -> None:
    body = b"[" + b"0," * 600 + b"0]"

    async def answer(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        if chunked:
            resp.enable_chunked_encoding()
        else:
            resp.content_length = len(body)
        await resp.prepare(request)
        await resp.write(body)
        return resp

    app = web.Application()
    app.router.add_get("/api/v1/users/1", answer)
    async with AppServer(app) as server, client_for(server.url(), max_response_bytes=1000) as c:
        with pytest.raises(ResponseTooLargeError):
            await c.users.get("1")
        assert server.paths == ["GET /api/v1/users/1"]


def test_max_response_bytes_is_checked() -> None:
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="max_response_bytes"):
            KantataClient(TOKEN, max_response_bytes=bad)  # type: ignore[arg-type]
    assert KantataClient(TOKEN).max_response_bytes == 256 * 1024 * 1024
