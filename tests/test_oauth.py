"""OAuth: URL building, redirect parsing, and the code exchange against FakeKantata's endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import test_utils, web
from yarl import URL

from kantata_async import APIConnectionError, APITimeoutError, KantataClient, KantataError
from kantata_async.oauth import (
    DEFAULT_OAUTH_BASE_URL,
    OAuthError,
    OAuthToken,
    authorization_url,
    exchange_code,
    parse_redirect,
)
from kantata_async.testing import FakeKantata

REDIRECT = "https://app.example.com/kantata/callback"


class Clock:
    """A settable clock for the fake's authorization codes."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def authorize(
    fake: FakeKantata,
    session: aiohttp.ClientSession,
    *,
    redirect_uri: str = REDIRECT,
    state: str | None = "st-1",
) -> str:
    """GET the fake's authorize page without following the redirect; return the Location."""
    url = authorization_url(
        fake.oauth_client_id, redirect_uri, state=state, base_url=fake.oauth_base_url
    )
    async with session.get(url, allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
        return resp.headers["Location"]


async def get_code(fake: FakeKantata, session: aiohttp.ClientSession, **kwargs: str) -> str:
    return parse_redirect(await authorize(fake, session, **kwargs), expected_state="st-1")


async def exchange(
    fake: FakeKantata,
    code: str,
    session: aiohttp.ClientSession | None = None,
    *,
    client_secret: str | None = None,
    redirect_uri: str = REDIRECT,
) -> OAuthToken:
    """Exchange `code` at the fake with its client credentials unless told otherwise."""
    return await exchange_code(
        code,
        client_id=fake.oauth_client_id,
        client_secret=client_secret or fake.oauth_client_secret,
        redirect_uri=redirect_uri,
        base_url=fake.oauth_base_url,
        session=session,
    )


def assert_no_secrets(err: BaseException, *secrets: str) -> None:
    shown = f"{err} {err!r} {err.args!r}"
    for secret in secrets:
        assert secret not in shown


# -- authorization_url ----------------------------------------------------------------------


def test_authorization_url_carries_the_documented_parameters() -> None:
    url = URL(authorization_url("client-1", REDIRECT, state="xyz"))
    assert str(url.with_query(None)) == DEFAULT_OAUTH_BASE_URL + "oauth/authorize"
    assert dict(url.query) == {
        "client_id": "client-1",
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "state": "xyz",
    }
    assert "state" not in URL(authorization_url("client-1", REDIRECT)).query


@pytest.mark.parametrize(
    ("client_id", "redirect_uri", "state"),
    [
        ("a b+c&d=e", "https://example.com/cb?next=/home&x=1", "s t+u/v=w&x"),
        ("id", "https://example.com/c%20b?q=a%26b#frag", "ü€ #?"),
        ("id", "http://127.0.0.1:8000/cb", ""),
    ],
)
def test_authorization_url_escapes_every_value(
    client_id: str, redirect_uri: str, state: str
) -> None:
    url = authorization_url(client_id, redirect_uri, state=state)
    parts = urlsplit(url)
    assert parts.fragment == ""
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=True)
    assert query == {
        "client_id": [client_id],
        "response_type": ["code"],
        "redirect_uri": [redirect_uri],
        "state": [state],
    }


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://auth.example.com", "https://auth.example.com/oauth/authorize"),
        ("https://example.com/kantata/", "https://example.com/kantata/oauth/authorize"),
        ("http://localhost:8080/", "http://localhost:8080/oauth/authorize"),
        ("http://127.0.0.9/", "http://127.0.0.9/oauth/authorize"),
        ("http://[::1]:9000", "http://[::1]:9000/oauth/authorize"),
    ],
)
def test_authorization_url_joins_the_base_url(base_url: str, expected: str) -> None:
    url = authorization_url("id", REDIRECT, base_url=base_url)
    assert str(URL(url).with_query(None)) == expected


def test_authorization_url_refuses_plain_http_and_bad_arguments() -> None:
    with pytest.raises(ValueError, match="plain http"):
        authorization_url("id", REDIRECT, base_url="http://app.example.com/")
    url = authorization_url(
        "id", REDIRECT, base_url="http://app.example.com/", allow_insecure_http=True
    )
    assert url.startswith("http://app.example.com/oauth/authorize?")
    for bad in ("ftp://example.com/", "example.com", "https://example.com/?x=1"):
        with pytest.raises(ValueError, match="base_url"):
            authorization_url("id", REDIRECT, base_url=bad)
    with pytest.raises(ValueError, match="client_id"):
        authorization_url(" ", REDIRECT)
    with pytest.raises(ValueError, match="redirect_uri"):
        authorization_url("id", "")


# -- parse_redirect ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected_state", "code"),
    [
        (REDIRECT + "?code=abc123&state=xyz", "xyz", "abc123"),
        (REDIRECT + "?code=abc123&state=xyz", None, "abc123"),
        (REDIRECT + "?code=abc123", None, "abc123"),
        (REDIRECT + "?next=%2Fhome&code=a%2Bb%20c&state=x%26y", "x&y", "a+b c"),
        ("/kantata/callback?state=xyz&code=c0de", "xyz", "c0de"),
    ],
)
def test_parse_redirect_returns_the_code(url: str, expected_state: str | None, code: str) -> None:
    assert parse_redirect(url, expected_state=expected_state) == code


def test_parse_redirect_reports_a_denial_with_its_description() -> None:
    url = REDIRECT + "?error=access_denied&error_description=The+user+said+no.&state=xyz"
    with pytest.raises(
        OAuthError, match=r"denied access \(access_denied\): The user said no\."
    ) as e:
        parse_redirect(url, expected_state="xyz")
    assert isinstance(e.value, KantataError)
    assert (e.value.error, e.value.error_description, e.value.status) == (
        "access_denied",
        "The user said no.",
        None,
    )
    # Without a state (the denial may not echo it), it is still the denial.
    with pytest.raises(OAuthError, match="access_denied") as e:
        parse_redirect(REDIRECT + "?error=access_denied", expected_state="xyz")
    assert e.value.error_description is None
    with pytest.raises(OAuthError, match="authorization failed \\(server_error\\)"):
        parse_redirect(REDIRECT + "?error=server_error")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("code=secretcode&state=other", "does not match"),
        ("code=secretcode", "carries no state"),
        ("code=secretcode&state=", "does not match"),
        ("error=access_denied&state=other", "does not match"),
        ("state=xyz", "no authorization code"),
        ("code=&state=xyz", "no authorization code"),
        ("code=secretcode&code=othercode&state=xyz", "2 'code' parameters"),
        ("code=secretcode&state=xyz&state=xyz", "2 'state' parameters"),
    ],
)
def test_parse_redirect_refuses(query: str, message: str) -> None:
    with pytest.raises(OAuthError, match=message) as e:
        parse_redirect(REDIRECT + "?" + query, expected_state="xyz")
    assert e.value.error is None  # found by the SDK, not sent by the server
    assert_no_secrets(e.value, "secretcode", "othercode")


# -- OAuthToken ----------------------------------------------------------------------------


def test_the_token_repr_hides_the_token_and_extra_values() -> None:
    token = OAuthToken(
        access_token="tok-123", token_type="bearer", extra={"refresh_token": "rt-456"}
    )
    for shown in (repr(token), str(token)):
        assert "tok-123" not in shown and "rt-456" not in shown
        assert "refresh_token" in shown and "bearer" in shown
    with pytest.raises(TypeError):
        token.extra["x"] = 1  # type: ignore[index]
    assert token == OAuthToken(access_token="tok-123", extra={"refresh_token": "rt-456"})


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


# -- the fake's OAuth endpoints themselves -------------------------------------------------


async def test_the_fakes_oauth_settings(fake: FakeKantata) -> None:
    assert fake.oauth_base_url == f"http://127.0.0.1:{fake.port}/"
    assert fake.base_url == fake.oauth_base_url + "api/v1/"
    same = FakeKantata(users=0, seed=5)
    other = FakeKantata(users=0, seed=6)
    assert (fake.oauth_client_id, fake.oauth_client_secret) == (
        same.oauth_client_id,
        same.oauth_client_secret,
    )
    assert fake.oauth_client_id != other.oauth_client_id
    assert fake.oauth_client_secret != other.oauth_client_secret
    given = FakeKantata(users=0, oauth_client_id="cid", oauth_client_secret="csec")
    assert (given.oauth_client_id, given.oauth_client_secret) == ("cid", "csec")
    with pytest.raises(RuntimeError, match="not running"):
        _ = same.oauth_base_url


@pytest.mark.parametrize(
    ("query", "status", "error"),
    [
        ({"response_type": "code", "redirect_uri": REDIRECT}, 400, "invalid_request"),
        (
            {"client_id": "nope", "response_type": "code", "redirect_uri": REDIRECT},
            401,
            "invalid_client",
        ),
        ({"client_id": None, "response_type": "code"}, 400, "invalid_request"),
        (
            {"client_id": None, "response_type": "code", "redirect_uri": "/cb"},
            400,
            "invalid_redirect_uri",
        ),
        (
            {"client_id": None, "response_type": "code", "redirect_uri": "ftp://x.example/cb"},
            400,
            "invalid_redirect_uri",
        ),
    ],
)
async def test_authorize_answers_client_and_redirect_problems_without_redirecting(
    fake: FakeKantata,
    session: aiohttp.ClientSession,
    query: dict[str, str | None],
    status: int,
    error: str,
) -> None:
    params = {k: v if v is not None else fake.oauth_client_id for k, v in query.items()}
    fake.oauth_deny_next = True
    async with session.get(
        fake.oauth_base_url + "oauth/authorize", params=params, allow_redirects=False
    ) as resp:
        assert resp.status == status
        assert "Location" not in resp.headers
        body = await resp.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error
    assert fake.oauth_deny_next is True  # kept for a request that reaches the redirect


async def test_authorize_keeps_the_redirect_query_and_checks_a_registered_uri(
    fake: FakeKantata, session: aiohttp.ClientSession
) -> None:
    location = URL(await authorize(fake, session, redirect_uri=REDIRECT + "?tenant=7", state=None))
    assert set(location.query) == {"tenant", "code"}
    assert location.query["tenant"] == "7"

    fake.oauth_redirect_uri = REDIRECT
    params = {"client_id": fake.oauth_client_id, "response_type": "code"}
    for uri, status in ((REDIRECT + "/evil", 400), (REDIRECT, 302)):
        async with session.get(
            fake.oauth_base_url + "oauth/authorize",
            params={**params, "redirect_uri": uri},
            allow_redirects=False,
        ) as resp:
            assert resp.status == status


async def test_authorize_redirects_an_unsupported_response_type_with_an_error(
    fake: FakeKantata, session: aiohttp.ClientSession
) -> None:
    params = {
        "client_id": fake.oauth_client_id,
        "response_type": "token",
        "redirect_uri": REDIRECT,
        "state": "s",
    }
    async with session.get(
        fake.oauth_base_url + "oauth/authorize", params=params, allow_redirects=False
    ) as resp:
        assert resp.status == 302
        location = resp.headers["Location"]
    with pytest.raises(OAuthError, match="unsupported_response_type"):
        parse_redirect(location, expected_state="s")


async def test_token_endpoint_checks_each_parameter(
    fake: FakeKantata, session: aiohttp.ClientSession
) -> None:
    code = await get_code(fake, session)
    good = {
        "client_id": fake.oauth_client_id,
        "client_secret": fake.oauth_client_secret,
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
    }

    async def post(**changes: str | None) -> tuple[int, dict[str, str], str]:
        form = {k: v for k, v in {**good, **changes}.items() if v is not None}
        async with session.post(fake.oauth_base_url + "oauth/token", data=form) as resp:
            return resp.status, await resp.json(), resp.headers.get("Cache-Control", "")

    cases: list[tuple[dict[str, str | None], int, str]] = [
        ({"grant_type": None}, 400, "invalid_request"),
        ({"grant_type": "client_credentials"}, 400, "unsupported_grant_type"),
        ({"client_id": "other"}, 401, "invalid_client"),
        ({"client_secret": None}, 401, "invalid_client"),
        ({"code": None}, 400, "invalid_request"),
        ({"redirect_uri": None}, 400, "invalid_request"),
        ({"code": "not-a-code"}, 400, "invalid_grant"),
    ]
    for changes, status, error in cases:
        got_status, body, _ = await post(**changes)
        assert (got_status, body["error"]) == (status, error), changes
        assert body["error_description"]
    status, body, cache = await post()
    assert (status, body, cache) == (
        200,
        {"access_token": fake.token, "token_type": "bearer"},
        "no-store",
    )
    assert [r.status for r in fake.requests[1:]] == [400, 400, 401, 401, 400, 400, 400, 200]


async def test_token_endpoint_accepts_json_and_a_code_of_another_client_is_refused(
    session: aiohttp.ClientSession,
) -> None:
    async with FakeKantata(users=3, oauth_client_id="a", oauth_client_secret="sa") as fake:
        code = await get_code(fake, session)
        fake.oauth_client_id, fake.oauth_client_secret = "b", "sb"
        with pytest.raises(OAuthError, match="issued to another client"):
            await exchange(fake, code, session)
        fake.oauth_client_id, fake.oauth_client_secret = "a", "sa"
        body = {
            "client_id": "a",
            "client_secret": "sa",
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
        }
        async with session.post(fake.oauth_base_url + "oauth/token", json=body) as resp:
            assert resp.status == 200
            assert (await resp.json())["access_token"] == fake.token


async def test_oauth_routes_take_only_their_methods(
    fake: FakeKantata, session: aiohttp.ClientSession
) -> None:
    for method, path in (("POST", "oauth/authorize"), ("GET", "oauth/token")):
        async with session.request(method, fake.oauth_base_url + path) as resp:
            assert resp.status == 404
            assert (await resp.json())["errors"][0]["type"] == "system"
    # Under the API root they are not routes either.
    async with session.post(fake.base_url + "oauth/token") as resp:
        assert resp.status == 404
