"""OAuth's code exchange against FakeKantata's endpoints: the whole flow, refusals, failures."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import test_utils, web
from oauth_flow import REDIRECT, Clock, assert_no_secrets, authorize, exchange, get_code
from yarl import URL

from kantata_async import APIConnectionError, APITimeoutError, KantataClient
from kantata_async.oauth import OAuthError, exchange_code, parse_redirect
from kantata_async.testing import FakeKantata

# -- the exchange against FakeKantata ------------------------------------------------------


async def test_the_whole_flow_gives_a_token_that_works_with_the_client(
    fake: FakeKantata, session: aiohttp.ClientSession
) -> None:
    location = await authorize(fake, session)
    assert location.startswith(REDIRECT + "?")
    code = parse_redirect(location, expected_state="st-1")
    token = await exchange(fake, code)
    assert (token.access_token, token.token_type, dict(token.extra)) == (fake.token, "bearer", {})

    authorize_req, token_req = fake.requests
    assert (authorize_req.method, authorize_req.path, authorize_req.status) == (
        "GET",
        "/oauth/authorize",
        302,
    )
    assert authorize_req.query["client_id"] == fake.oauth_client_id
    assert (token_req.method, token_req.path, token_req.status) == ("POST", "/oauth/token", 200)
    assert token_req.header("Content-Type") == "application/x-www-form-urlencoded"
    assert token_req.form == {
        "client_id": fake.oauth_client_id,
        "client_secret": fake.oauth_client_secret,
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
    }
    assert token_req.query == {}  # nothing secret in the URL

    async with KantataClient(token.access_token, base_url=fake.base_url) as client:
        me = await client.users.me()
    assert me.id == fake.me


async def test_a_denied_authorization_then_an_approved_one(
    fake: FakeKantata, session: aiohttp.ClientSession
) -> None:
    fake.oauth_deny_next = True
    location = await authorize(fake, session)
    query = URL(location).query
    assert (query["error"], query["state"]) == ("access_denied", "st-1")
    assert "code" not in query
    with pytest.raises(OAuthError, match="denied access") as e:
        parse_redirect(location, expected_state="st-1")
    assert e.value.error == "access_denied"
    assert e.value.error_description == query["error_description"] != ""

    # The knob is spent: the user tries again and approves.
    assert fake.oauth_deny_next is False
    code = parse_redirect(await authorize(fake, session), expected_state="st-1")
    token = await exchange(fake, code, session)
    assert not session.closed  # a caller's session is left open
    async with KantataClient(token.access_token, base_url=fake.base_url) as client:
        assert (await client.users.me()).id == fake.me


async def test_a_wrong_secret_is_invalid_client_and_never_shown(
    fake: FakeKantata, session: aiohttp.ClientSession
) -> None:
    code = await get_code(fake, session)
    with pytest.raises(OAuthError, match="401 POST oauth/token: invalid_client") as e:
        await exchange(fake, code, client_secret="wrong-secret-value")
    assert (e.value.status, e.value.error) == (401, "invalid_client")
    assert_no_secrets(e.value, "wrong-secret-value", fake.oauth_client_secret, code)
    # The refused attempt did not spend the code.
    assert (await exchange(fake, code)).access_token == fake.token


async def test_a_code_works_once(fake: FakeKantata, session: aiohttp.ClientSession) -> None:
    code = await get_code(fake, session)
    await exchange(fake, code)
    with pytest.raises(OAuthError, match="already been used") as e:
        await exchange(fake, code)
    assert (e.value.status, e.value.error) == (400, "invalid_grant")
    assert_no_secrets(e.value, fake.oauth_client_secret, code)


async def test_a_code_expires_after_five_minutes_by_the_servers_clock(
    fake: FakeKantata, session: aiohttp.ClientSession
) -> None:
    clock = Clock()
    fake.oauth_clock = clock
    old, fresh = await get_code(fake, session), await get_code(fake, session)
    assert old != fresh
    clock.now += 300.0
    assert (await exchange(fake, fresh)).access_token == fake.token  # 5 minutes: still valid
    clock.now += 0.5
    with pytest.raises(OAuthError, match="expired") as e:
        await exchange(fake, old)
    assert (e.value.status, e.value.error) == (400, "invalid_grant")


async def test_the_redirect_uri_must_match_the_authorize_request(
    fake: FakeKantata, session: aiohttp.ClientSession
) -> None:
    code = await get_code(fake, session)
    with pytest.raises(OAuthError, match="redirect_uri does not match") as e:
        await exchange(fake, code, redirect_uri=REDIRECT + "/other")
    assert e.value.error == "invalid_grant"


async def test_server_text_is_scrubbed_of_the_secret_and_code(
    fake: FakeKantata, session: aiohttp.ClientSession
) -> None:
    code = await get_code(fake, session)
    secret = fake.oauth_client_secret
    fake.fail_next(
        400,
        path="oauth/token",
        body={"error": "invalid_request", "error_description": f"bad {secret} for {code}"},
    )
    with pytest.raises(
        OAuthError, match=r"invalid_request: bad \[redacted\] for \[redacted\]"
    ) as e:
        await exchange(fake, code)
    assert_no_secrets(e.value, secret, code)
    assert e.value.error_description is not None and secret not in e.value.error_description

    fake.fail_next(502, path="oauth/token", body=f"<html>{secret}</html>")
    with pytest.raises(OAuthError, match="502 POST oauth/token: expected an OAuth error") as e:
        await exchange(fake, code)
    assert "text/html" in str(e.value)
    assert_no_secrets(e.value, secret, code)


async def test_the_api_error_format_is_understood_too(fake: FakeKantata) -> None:
    fake.fail_next(401, path="oauth/token")  # {"errors": [{"type": "oauth", ...}]}
    with pytest.raises(OAuthError, match="401 POST oauth/token: Invalid OAuth 2 Request") as e:
        await exchange(fake, "some-code")
    assert (e.value.status, e.value.error) == (401, None)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<html>maintenance</html>", "expected a JSON token, got text/html"),
        ("access_token=leaked-token&token_type=bearer", "expected a JSON token"),
        (["leaked-token"], "expected a JSON object, got list"),
        ({"token_type": "bearer"}, "no access_token"),
        ({"access_token": "leaked-token", "token_type": "mac"}, "'mac' is not supported"),
    ],
)
async def test_a_success_status_without_a_token_is_an_oauth_error(
    fake: FakeKantata, body: str | list[str] | dict[str, str], message: str
) -> None:
    fake.fail_next(200, path="oauth/token", body=body)
    with pytest.raises(OAuthError, match=message) as e:
        await exchange(fake, "some-code")
    assert e.value.status == 200
    assert_no_secrets(e.value, "leaked-token", fake.oauth_client_secret)


async def test_extra_fields_of_the_answer_are_kept(fake: FakeKantata) -> None:
    fake.fail_next(
        200,
        path="oauth/token",
        body={"access_token": "t-1", "token_type": "Bearer", "created_at": 1700000000},
    )
    token = await exchange(fake, "some-code")
    assert (token.access_token, token.token_type) == ("t-1", "Bearer")
    assert dict(token.extra) == {"created_at": 1700000000}


async def test_a_redirect_from_the_token_endpoint_is_not_followed() -> None:
    followed: list[str] = []

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect("/elsewhere")  # a 307 would re-POST the secret

    async def elsewhere(request: web.Request) -> web.Response:
        followed.append(request.method)
        return web.json_response({"access_token": "t", "token_type": "bearer"})

    app = web.Application()
    app.router.add_post("/oauth/token", moved)
    app.router.add_route("*", "/elsewhere", elsewhere)
    async with test_utils.TestServer(app) as server:
        with pytest.raises(OAuthError, match="redirected") as e:
            await exchange_code(
                "some-code",
                client_id="id",
                client_secret="s3cret",
                redirect_uri=REDIRECT,
                base_url=str(server.make_url("/")),
            )
    assert e.value.status == 307
    assert followed == []


async def test_a_dropped_connection_is_a_connection_error_and_not_retried(
    fake: FakeKantata,
) -> None:
    fake.drop_next(path="oauth/token")
    with pytest.raises(APIConnectionError, match="POST oauth/token: connection lost") as e:
        await exchange(fake, "some-code")
    assert e.value.request_sent is True
    assert [r.path for r in fake.requests] == ["/oauth/token"]
    assert_no_secrets(e.value, fake.oauth_client_secret, "some-code")


async def test_no_server_is_a_connection_error() -> None:
    async with FakeKantata(users=1) as gone:
        base_url = gone.oauth_base_url
    with pytest.raises(APIConnectionError, match="cannot connect") as e:
        await exchange_code(
            "some-code",
            client_id="id",
            client_secret="s3cret",
            redirect_uri=REDIRECT,
            base_url=base_url,
        )
    assert e.value.request_sent is False
    assert not isinstance(e.value, OAuthError)
    assert_no_secrets(e.value, "s3cret", "some-code")


async def test_a_slow_answer_is_a_timeout(fake: FakeKantata) -> None:
    fake.latency = 0.5
    with pytest.raises(APITimeoutError):
        await exchange_code(
            "some-code",
            client_id=fake.oauth_client_id,
            client_secret=fake.oauth_client_secret,
            redirect_uri=REDIRECT,
            base_url=fake.oauth_base_url,
            timeout=0.05,
        )


async def test_plain_http_to_another_host_is_refused_before_sending() -> None:
    with pytest.raises(ValueError, match="plain http"):
        await exchange_code(
            "some-code",
            client_id="id",
            client_secret="s3cret",
            redirect_uri=REDIRECT,
            base_url="http://app.example.com/",
        )


@pytest.mark.parametrize(
    ("name", "value"),
    [("code", ""), ("client_id", " "), ("client_secret", ""), ("redirect_uri", "")],
)
async def test_exchange_refuses_empty_arguments(name: str, value: str) -> None:
    args = {"client_id": "id", "client_secret": "s", "redirect_uri": REDIRECT, "code": "c"}
    args[name] = value
    with pytest.raises(ValueError, match=name):
        await exchange_code(
            args["code"],
            client_id=args["client_id"],
            client_secret=args["client_secret"],
            redirect_uri=args["redirect_uri"],
        )


async def test_exchange_refuses_a_nonpositive_timeout() -> None:
    with pytest.raises(ValueError, match="timeout"):
        await exchange_code("c", client_id="i", client_secret="s", redirect_uri=REDIRECT, timeout=0)
