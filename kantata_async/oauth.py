"""OAuth 2 for Kantata OX: get an access token through the authorization-code flow.

Kantata issues tokens to registered applications (https://app.mavenlink.com/oauth/applications)
by the plain authorization-code grant: no scopes, no PKCE, no refresh token, and tokens that
do not expire until the user revokes them. Treat a token like a password. The flow:

1. Send the user's browser to `authorization_url(client_id, redirect_uri, state=state)`.
2. Kantata redirects back to `redirect_uri` with `?code=...&state=...` (or with
   `?error=access_denied&error_description=...` when the user says no). Get the code with
   `parse_redirect(url, expected_state=state)`.
3. Within 5 minutes, trade the code for a token with `exchange_code(...)`, once: a code is
   single-use.

    import secrets
    from kantata_async import KantataClient
    from kantata_async.oauth import authorization_url, exchange_code, parse_redirect

    state = secrets.token_urlsafe(16)  # keep it in the user's session
    login = authorization_url(CLIENT_ID, "https://example.com/callback", state=state)
    ...  # redirect the browser to `login`; later, in the callback handler:
    code = parse_redirect(str(request.url), expected_state=state)
    token = await exchange_code(
        code,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri="https://example.com/callback",
    )
    async with KantataClient(token.access_token) as client:
        me = await client.users.me()

Errors: `OAuthError` (a `KantataError`) for a refusal, a denied authorization, a state
mismatch or a body that is not a token; `APIConnectionError` / `APITimeoutError` when no
(valid HTTP) answer arrived; `ResponseTooLargeError` for a body past 1 MB. No error, log line
or `repr` carries the client secret, the code or the token, even when the server echoes them.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import aiohttp
import attrs
from yarl import URL

from ._errors import KantataError, parse_error_details
from ._oauth_http import _TOKEN_PATH, _decode, _oauth_root, _post
from ._secret import Redactor

__all__ = [
    "DEFAULT_OAUTH_BASE_URL",
    "OAuthError",
    "OAuthToken",
    "authorization_url",
    "exchange_code",
    "parse_redirect",
]

log = logging.getLogger("kantata_async")

DEFAULT_OAUTH_BASE_URL = "https://app.mavenlink.com/"
"""Where Kantata serves `oauth/authorize` and `oauth/token` (not the API's host)."""


class OAuthError(KantataError):
    """The OAuth flow failed: the user denied access, the state did not match, the redirect
    carried no code, or the token endpoint refused the code or answered something else.

    - `error`: the OAuth error code the server sent (`access_denied`, `invalid_grant`,
      `invalid_client`, ...), or None when the SDK found the problem itself.
    - `error_description`: the server's explanation, if it sent one.
    - `status`: the HTTP status of the token endpoint's answer; None for redirect problems.

    The message never contains the client secret, the code or a token.

        try:
            code = parse_redirect(url, expected_state=state)
        except OAuthError as err:
            if err.error == "access_denied":
                ...  # the user said no: show a friendly page
            raise
    """

    def __init__(
        self,
        message: str,
        *,
        error: str | None = None,
        error_description: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.error = error
        self.error_description = error_description
        self.status = status


def _read_only(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


@attrs.frozen(kw_only=True, repr=False)
class OAuthToken:
    """The token endpoint's answer.

    - `access_token`: the bearer token for `KantataClient(token.access_token)`. It does not
      expire (Kantata says so) until the user revokes the application: store it as a secret.
    - `token_type`: `"bearer"`, the only type Kantata issues.
    - `extra`: every other field of the answer, as sent (read-only).

    The `repr` shows neither the token nor the extra values (which may be secrets too):

        >>> OAuthToken(access_token="abc", token_type="bearer", extra={"created_at": 1})
        OAuthToken(token_type='bearer', access_token=<redacted>, extra_keys=['created_at'])
    """

    access_token: str
    token_type: str = "bearer"
    extra: Mapping[str, Any] = attrs.field(factory=dict, converter=_read_only, hash=False)

    def __repr__(self) -> str:
        return (
            f"OAuthToken(token_type={self.token_type!r}, access_token=<redacted>, "
            f"extra_keys={sorted(self.extra)!r})"
        )


def _require_text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")
    return value


def authorization_url(
    client_id: str,
    redirect_uri: str,
    *,
    state: str | None = None,
    base_url: str | URL = DEFAULT_OAUTH_BASE_URL,
    allow_insecure_http: bool = False,
) -> str:
    """The URL to send the user's browser to, to ask them to authorize your application.

    `redirect_uri` must be the one registered for the application; Kantata sends the
    browser back there with the code. Pass a fresh, unguessable `state` (keep it in the
    user's session) and give it to `parse_redirect` as `expected_state`: that is what
    stops another site from slipping its own code into your callback.

        >>> authorization_url("abc", "https://example.com/cb?next=/home", state="xyz")
        'https://app.mavenlink.com/oauth/authorize?client_id=abc&response_type=code&redirect_uri=https://example.com/cb?next%3D/home&state=xyz'

    Every value is percent-encoded as a query value. Plain `http://` for `base_url` is
    refused (the user would log in over it) unless the host is loopback or
    `allow_insecure_http=True`.
    """
    _require_text(client_id, "client_id")
    _require_text(redirect_uri, "redirect_uri")
    if state is not None and not isinstance(state, str):
        raise ValueError(f"state must be a str, got {type(state).__name__}")
    query = {"client_id": client_id, "response_type": "code", "redirect_uri": redirect_uri}
    if state is not None:
        query["state"] = state
    url = _oauth_root(base_url, allow_insecure_http).joinpath("oauth", "authorize")
    return str(url.with_query(query))


def _single(url: URL, name: str) -> str | None:
    values = url.query.getall(name, [])
    if len(values) > 1:
        raise OAuthError(f"the redirect carries {len(values)} {name!r} parameters, expected one")
    return values[0] if values else None


def _same_state(got: str, expected: str) -> bool:
    # Constant time, as for any secret compared with attacker-supplied input.
    return hmac.compare_digest(got.encode(), expected.encode())


def parse_redirect(url: str | URL, *, expected_state: str | None = None) -> str:
    """The authorization code from the URL Kantata redirected the browser to.

    `url` is the full callback URL (or just its path and query), as your web framework
    hands it over. Raises `OAuthError`:

    - when the user denied access (`err.error == "access_denied"`, with the server's
      `error_description` in the message) or the server sent another OAuth error;
    - when `expected_state` is given and the redirect's `state` is missing or different
      (someone else's code, or a replayed link): do not use such a code;
    - when no `code` is present.

        code = parse_redirect(
            "https://example.com/cb?code=4f2a&state=xyz", expected_state="xyz"
        )  # "4f2a"

    An error redirect that carries a wrong `state` is reported as a state mismatch, since it
    did not come from your own request; one without any `state` is reported as the error it
    is (Kantata's denial redirect may not echo the state).
    """
    parsed = URL(str(url))
    state = _single(parsed, "state")
    error = _single(parsed, "error")
    if expected_state is not None and not isinstance(expected_state, str):
        raise ValueError(f"expected_state must be a str, got {type(expected_state).__name__}")
    state_ok = expected_state is None or (state is not None and _same_state(state, expected_state))
    if error is not None:
        description = _single(parsed, "error_description")
        if state is not None and not state_ok:
            raise OAuthError(
                f"the redirect carries an OAuth error ({error}) with a state that does not "
                "match the one this authorization request sent; ignore it",
                # Not `error=error`: code that tests `err.error == "access_denied"` must not
                # take a forged redirect for the user's answer.
                error_description=description,
            )
        what = "the user denied access" if error == "access_denied" else "authorization failed"
        message = f"{what} ({error})"
        if description:
            message += f": {description}"
        raise OAuthError(message, error=error, error_description=description)
    if not state_ok:
        problem = (
            "carries no state, but the authorization request sent one"
            if state is None
            else "carries a state that does not match the one the authorization request sent"
        )
        raise OAuthError(
            f"the redirect {problem}: the code may have been planted by another site; do not use it"
        )
    code = _single(parsed, "code")
    if not code:
        raise OAuthError("the redirect carries no authorization code (no 'code' parameter)")
    return code


def _status_error(status: int, content_type: str, raw: bytes, redact: Redactor) -> OAuthError:
    where = f"{status} POST {_TOKEN_PATH}"
    # Redacted before parsing: no field, message or excerpt carries the secret or the code.
    text = redact(raw.decode("utf-8", "replace"))
    body = _decode(text)
    if isinstance(body, dict) and ("error" in body or "errors" in body or "error_message" in body):
        error, description = (
            None if body.get(k) is None else str(body[k]) for k in ("error", "error_description")
        )
        if error is None and description is None:
            # Kantata's API error format, in case the token endpoint answers with it.
            description = "; ".join(str(e) for e in parse_error_details(body)) or None
        reason = ": ".join(part for part in (error, description) if part) or "no details"
        return OAuthError(
            f"{where}: {reason}", error=error, error_description=description, status=status
        )
    what = "JSON without an error" if body is not None else (content_type or "no content type")
    message = f"{where}: expected an OAuth error as JSON, got {what} ({len(raw)} bytes)"
    if text.strip():
        message += f" starting {text[:80].strip()!r}"
    return OAuthError(message, status=status)


def _token(status: int, content_type: str, raw: bytes) -> OAuthToken:
    where = f"{status} POST {_TOKEN_PATH}"
    body = _decode(raw)
    # Never quote a success body: it may hold a token in a shape this code does not expect.
    if body is None:
        raise OAuthError(
            f"{where}: expected a JSON token, got {content_type or 'no content type'} "
            f"({len(raw)} bytes, not JSON)",
            status=status,
        )
    if not isinstance(body, dict):
        raise OAuthError(
            f"{where}: expected a JSON object, got {type(body).__name__}", status=status
        )
    access_token = body.get("access_token")
    if not isinstance(access_token, str) or not access_token.strip():
        raise OAuthError(
            f"{where}: the answer has no access_token (keys: {sorted(body)})", status=status
        )
    token_type = body.get("token_type", "bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise OAuthError(
            f"{where}: token_type {token_type!r} is not supported (only bearer tokens are)",
            status=status,
        )
    extra = {k: v for k, v in body.items() if k not in ("access_token", "token_type")}
    return OAuthToken(access_token=access_token, token_type=token_type, extra=extra)


async def exchange_code(
    code: str,
    *,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    base_url: str | URL = DEFAULT_OAUTH_BASE_URL,
    session: aiohttp.ClientSession | None = None,
    # aiohttp's own budget for this one request, like KantataClient(timeout=...); wrapping
    # the call in asyncio.timeout() works as well.
    timeout: float = 30.0,  # noqa: ASYNC109
    allow_insecure_http: bool = False,
) -> OAuthToken:
    """Trade an authorization code for an access token (`POST oauth/token`).

    `redirect_uri` must be the same one given to `authorization_url`. The POST is sent once
    and never retried, and redirects are not followed (they could carry the secret
    elsewhere): a code is single-use, so after a lost connection start the flow again.

        token = await exchange_code(
            code,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_uri="https://example.com/callback",
        )
        async with KantataClient(token.access_token) as client:
            ...

    `session` is an `aiohttp.ClientSession` you own (left open); without one, a session is
    created and closed for this call. `timeout` is in seconds for the whole exchange.

    Raises `OAuthError` when the server refuses (`err.status`, and `err.error` such as
    `invalid_grant` for a used, expired or unknown code, `invalid_client` for wrong
    credentials) or answers with something that is not a token; `APIConnectionError` or
    `APITimeoutError` when no (valid HTTP) answer arrived; `ValueError` for bad arguments,
    including plain `http://` to a non-loopback host without `allow_insecure_http=True` and
    a `base_url` with credentials.
    """
    _require_text(code, "code")
    _require_text(client_id, "client_id")
    _require_text(client_secret, "client_secret")
    _require_text(redirect_uri, "redirect_uri")
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
    url = _oauth_root(base_url, allow_insecure_http).joinpath(*_TOKEN_PATH.split("/"))
    form = {
        "client_id": client_id,
        "client_secret": client_secret,
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
    }
    redact = Redactor(client_secret, code)
    budget = aiohttp.ClientTimeout(total=timeout)
    if session is None:
        async with aiohttp.ClientSession() as own:
            status, content_type, raw = await _post(own, url, form, budget, redact)
    else:
        status, content_type, raw = await _post(session, url, form, budget, redact)
    log.debug("POST %s -> %s", _TOKEN_PATH, status)
    if 200 <= status < 300:
        return _token(status, content_type, raw)
    if 300 <= status < 400:
        raise OAuthError(
            f"{status} POST {_TOKEN_PATH}: the token endpoint redirected; redirects are not "
            "followed for a request that carries the client secret (check base_url)",
            status=status,
        )
    raise _status_error(status, content_type, raw, redact)
