"""The OAuth flow's steps against FakeKantata: authorize, get the code, exchange it."""

from __future__ import annotations

import aiohttp

from kantata_async.oauth import OAuthToken, authorization_url, exchange_code, parse_redirect
from kantata_async.testing import FakeKantata

REDIRECT = "https://app.example.com/kantata/callback"


class Clock:
    """A settable clock for the fake's authorization codes."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


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
