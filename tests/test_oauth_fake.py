"""FakeKantata's OAuth endpoints themselves: settings, authorize and token checks, methods."""

from __future__ import annotations

import aiohttp
import pytest
from oauth_flow import REDIRECT, authorize, exchange, get_code
from yarl import URL

from kantata_async.oauth import OAuthError, parse_redirect
from kantata_async.testing import FakeKantata

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
