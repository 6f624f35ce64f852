"""The token endpoint's wire, for `oauth`: where it is, the one POST, and reading its body.

`_oauth_root` checks a `base_url` (http(s), a host, no query) for `authorization_url` and
`exchange_code`; `_post` sends the token form once, without redirects, and reads at most
`_MAX_TOKEN_RESPONSE_BYTES` back; `_decode` reads a body as JSON, or None. What the body
means (a token or an `OAuthError`) is decided in `oauth`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
from yarl import URL

from . import _json
from ._client import _user_agent
from ._http_errors import map_aiohttp_errors, read_body
from ._secret import Redactor
from ._urls import checked_base_url

__all__ = ["_MAX_TOKEN_RESPONSE_BYTES", "_TOKEN_PATH", "_decode", "_oauth_root", "_post"]


_TOKEN_PATH = "oauth/token"
# A token endpoint answers with a few hundred bytes; anything past this is not a token.
_MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024


def _oauth_root(base_url: str | URL, allow_insecure_http: bool) -> URL:
    """`base_url` checked (http(s), a host, no query) and ending with a slash."""
    url = checked_base_url(base_url, allow_insecure_http=allow_insecure_http, carries="credentials")
    if url.query_string or url.fragment:
        raise ValueError(f"base_url must not have a query or fragment, got {str(base_url)!r}")
    return url


def _decode(raw: bytes | str) -> Any:
    """The JSON body, or None when it is not JSON."""
    try:
        return _json.loads(raw)
    except _json.DECODE_ERRORS:
        return None


async def _post(
    session: aiohttp.ClientSession,
    url: URL,
    form: Mapping[str, str],
    budget: aiohttp.ClientTimeout,
    redact: Redactor,
) -> tuple[int, str, bytes]:
    """Send the form once; return (status, content type, body) or raise a connection error."""
    headers = {"Accept": "application/json", "User-Agent": _user_agent()}
    method, path = "POST", _TOKEN_PATH
    with map_aiohttp_errors(method, path, timeout=budget.total, redact=redact):
        async with session.post(
            url,
            data=dict(form),
            headers=headers,
            timeout=budget,
            allow_redirects=False,
            raise_for_status=False,
        ) as resp:
            raw = await read_body(resp, limit=_MAX_TOKEN_RESPONSE_BYTES, method=method, path=path)
            return resp.status, resp.headers.get("Content-Type", ""), raw
