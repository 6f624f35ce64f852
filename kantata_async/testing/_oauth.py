"""The fake server's OAuth 2 authorization-code endpoints, without any I/O.

`OAuthProvider` decides what `GET /oauth/authorize` and `POST /oauth/token` answer, the way
Kantata (a Rails app) documents them: the authorize page redirects back with a code or an
`error=access_denied`; the token endpoint trades a code, once and within 5 minutes, for the
server's token, and answers errors as `{"error", "error_description"}` JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from yarl import URL

__all__ = ["CODE_LIFETIME", "OAuthProvider", "OAuthReply", "default_client"]

CODE_LIFETIME = 300.0
"""Seconds an authorization code stays valid (Kantata: 5 minutes)."""

_INVALID_GRANT = "invalid_grant"


def default_client(seed: int) -> tuple[str, str]:
    """The `(client_id, client_secret)` a fake registers by default, derived from `seed`."""
    digest = hashlib.sha256(f"kantata-fake-oauth-client:{seed}".encode()).hexdigest()
    return "fake-client-" + digest[:16], "fake-secret-" + digest[16:48]


@dataclass(frozen=True)
class OAuthReply:
    """What to answer: a redirect to `location`, or `body` as JSON, with `status`."""

    status: int
    location: str | None = None
    body: dict[str, Any] | None = None


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    issued_at: float


def _error(status: int, error: str, description: str) -> OAuthReply:
    return OAuthReply(status, body={"error": error, "error_description": description})


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _absolute_http(value: str) -> bool:
    try:
        url = URL(value)
    except (ValueError, TypeError):
        return False
    return url.scheme in ("http", "https") and bool(url.host) and not url.fragment


class OAuthProvider:
    """The authorization codes one fake server has issued, and the rules for both endpoints.

    Codes are deterministic (derived from `seed` and a counter), single-use, and expire
    `CODE_LIFETIME` seconds after issue by the clock the caller passes as `now`.
    """

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._counter = itertools.count(1)
        self._grants: dict[str, _Grant] = {}
        self._used: set[str] = set()

    def _new_code(self) -> str:
        seed = f"kantata-fake-oauth-code:{self._seed}:{next(self._counter)}"
        return hashlib.sha256(seed.encode()).hexdigest()[:40]

    def authorize(
        self,
        query: Mapping[str, str],
        *,
        client_id: str,
        registered_redirect_uri: str | None,
        deny: bool,
        now: float,
    ) -> OAuthReply:
        """`GET /oauth/authorize`: the user approves at once (or denies, when `deny`).

        As RFC 6749 4.1.2.1 requires, a missing or unknown `client_id` or a bad
        `redirect_uri` is answered on the page (400 JSON), never by a redirect; every other
        problem redirects back with `error=...` (and the `state`).
        """
        given_client = query.get("client_id", "")
        if not given_client:
            return _error(400, "invalid_request", "client_id is missing")
        if not _same(given_client, client_id):
            return _error(401, "invalid_client", "Client authentication failed: unknown client.")
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri:
            return _error(400, "invalid_request", "redirect_uri is missing")
        if not _absolute_http(redirect_uri) or (
            registered_redirect_uri is not None and redirect_uri != registered_redirect_uri
        ):
            return _error(
                400,
                "invalid_redirect_uri",
                "The redirect uri included is not valid.",
            )
        back: dict[str, str] = {}
        if query.get("response_type") != "code":
            back = {
                "error": "unsupported_response_type",
                "error_description": "The authorization server does not support this "
                "response type.",
            }
        elif deny:
            back = {
                "error": "access_denied",
                "error_description": "The resource owner or authorization server denied the "
                "request.",
            }
        else:
            code = self._new_code()
            self._grants[code] = _Grant(given_client, redirect_uri, now)
            back = {"code": code}
        if "state" in query:
            back["state"] = query["state"]
        return OAuthReply(302, location=str(URL(redirect_uri).update_query(back)))

    def token(
        self,
        params: Mapping[str, Any],
        *,
        client_id: str,
        client_secret: str,
        access_token: str,
        now: float,
    ) -> OAuthReply:
        """`POST /oauth/token` with `grant_type=authorization_code`: the token, or an error.

        Checks in the order Doorkeeper (Rails' OAuth provider) does: the request, then the
        client (401 `invalid_client`), then the grant (400 `invalid_grant`: unknown, used,
        expired, issued to another client, or another `redirect_uri`). A code is spent by
        its first valid exchange.
        """

        def text(name: str) -> str:
            value = params.get(name)
            return value if isinstance(value, str) else ""

        grant_type = text("grant_type")
        if not grant_type:
            return _error(400, "invalid_request", "grant_type is missing")
        if grant_type != "authorization_code":
            return _error(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            )
        given_id, given_secret = text("client_id"), text("client_secret")
        if not (_same(given_id, client_id) and _same(given_secret, client_secret)):
            return _error(
                401,
                "invalid_client",
                "Client authentication failed due to unknown client, no client "
                "authentication included, or unsupported authentication method.",
            )
        code = text("code")
        if not code:
            return _error(400, "invalid_request", "code is missing")
        redirect_uri = text("redirect_uri")
        if not redirect_uri:
            return _error(400, "invalid_request", "redirect_uri is missing")
        if code in self._used:
            return _error(400, _INVALID_GRANT, "The authorization code has already been used.")
        grant = self._grants.get(code)
        if grant is None:
            return _error(400, _INVALID_GRANT, "The authorization code is not valid.")
        if now - grant.issued_at > CODE_LIFETIME:
            del self._grants[code]
            return _error(400, _INVALID_GRANT, "The authorization code has expired.")
        if grant.client_id != given_id:
            return _error(
                400, _INVALID_GRANT, "The authorization code was issued to another client."
            )
        if grant.redirect_uri != redirect_uri:
            return _error(
                400,
                _INVALID_GRANT,
                "The redirect_uri does not match the one used in the authorization request.",
            )
        del self._grants[code]
        self._used.add(code)
        return OAuthReply(200, body={"access_token": access_token, "token_type": "bearer"})
