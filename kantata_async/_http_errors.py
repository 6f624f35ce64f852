"""Every way an aiohttp request can fail, mapped once to the SDK's typed errors.

httpx maps httpcore's exceptions in one context manager (`map_httpcore_exceptions`); this is
the same idea for aiohttp. The client's transport and OAuth's token exchange both send inside
`map_aiohttp_errors` and read bodies with `read_body`, so they fail the same way, and no
aiohttp exception reaches a caller.

aiohttp's exceptions (3.10 to 3.14), and what they become here:

| aiohttp                                         | SDK error                 | request_sent |
|-------------------------------------------------|---------------------------|--------------|
| `ConnectionTimeoutError`                        | `APITimeoutError`         | False        |
| `ClientConnectorError` (DNS, refused, TLS)      | `APIConnectionError`      | False        |
| `TimeoutError` (`SocketTimeoutError`, total)    | `APITimeoutError`         | True         |
| `TooManyRedirects`, `RedirectClientError`       | `RedirectError`           | True         |
| (`NonHttpUrlRedirectClientError`,               |                           |              |
| `InvalidUrlRedirectClientError`), the bare      |                           |              |
| `ValueError` aiohttp raises for a same-origin   |                           |              |
| redirect to a URL with credentials              |                           |              |
| `ClientResponseError`: a status line, header or | `APIConnectionError`      | True         |
| chunk that is not HTTP (every request passes    | ("not valid HTTP")        |              |
| `raise_for_status=False`, so it means nothing   |                           |              |
| else)                                           |                           |              |
| `ClientConnectionError` (`ServerDisconnected`,  | `APIConnectionError`      | True         |
| reset), `ClientPayloadError` (body cut short,   | ("connection lost")       |              |
| bad gzip), any other `ClientError`, `OSError`   |                           |              |

`request_sent=True` is the safe answer whenever aiohttp cannot tell: a write is then not
retried. Text from the server (a status line, a Location) goes through the `Redactor` first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import aiohttp

from ._errors import (
    APIConnectionError,
    APITimeoutError,
    KantataError,
    RedirectError,
    ResponseTooLargeError,
)
from ._options import Timeout
from ._secret import RedactedCause, Redactor

__all__ = ["map_aiohttp_errors", "read_body"]


def _last_location(err: aiohttp.TooManyRedirects) -> str | None:
    for resp in reversed(err.history):
        location = resp.headers.get("Location")
        if location is not None:
            return location
    return None


def _credentials_redirect(err: Exception) -> bool:
    """aiohttp's bare ValueError for a same-origin redirect to a URL with credentials (the
    SDK's own URL, headers and session are checked upfront, so it means nothing else). Any
    other ValueError is the caller's argument and passes through as it is."""
    return type(err) is ValueError and "Cannot combine AUTHORIZATION header" in str(err)


@contextlib.contextmanager
def map_aiohttp_errors(
    method: str, path: str, *, timeout: Timeout | float | None, redact: Redactor
) -> Iterator[None]:
    """Run the block; turn any aiohttp failure in it into an `APIConnectionError`.

    `timeout` (seconds for the whole request, or a `Timeout`) is quoted when one ran out.
    SDK errors raised in the block (such as `ResponseTooLargeError`) pass through unchanged.
    """
    try:
        yield
    except KantataError:
        raise
    except Exception as err:
        error = _mapped(err, method, path, timeout=timeout, redact=redact)
        if error is None:
            raise
        text = str(err)
        clean = text if not error.request_sent else redact(text)
        cause = err if clean == text else RedactedCause(f"{type(err).__name__}: {clean}")
        raise error from cause


def _mapped(
    err: Exception, method: str, path: str, *, timeout: Timeout | float | None, redact: Redactor
) -> APIConnectionError | None:
    limits = Timeout.of(timeout) if timeout is not None else Timeout(None)
    where = {"method": method, "path": path}
    # Order matters: the connect errors are OSErrors (one a TimeoutError), and TimeoutError
    # is an OSError.
    if isinstance(err, aiohttp.ConnectionTimeoutError | aiohttp.ClientConnectorError):
        # Not redacted: nothing was sent, so nothing the server says can echo it, and the
        # text is the OS's or the TLS library's (a short test token would garble it).
        if isinstance(err, aiohttp.ConnectionTimeoutError):
            return APITimeoutError(
                f"timed out connecting (Timeout.connect {limits.connect} s): {err}",
                **where,
                request_sent=False,
            )
        return APIConnectionError(f"cannot connect: {err}", **where, request_sent=False)
    detail = redact(str(err)) or type(err).__name__
    if isinstance(err, aiohttp.SocketTimeoutError):
        return APITimeoutError(
            f"the server sent nothing for {limits.read} s (Timeout.read)",
            **where,
            request_sent=True,
        )
    if isinstance(err, TimeoutError):
        return APITimeoutError(
            f"no complete answer within {limits.total} s", **where, request_sent=True
        )
    if isinstance(err, aiohttp.TooManyRedirects):
        location = _last_location(err)
        shown = None if location is None else redact(location)
        return RedirectError(
            f"gave up after {len(err.history)} redirects, the last to {shown}: a redirect loop?",
            **where,
            location=shown,
        )
    if isinstance(err, aiohttp.RedirectClientError) or _credentials_redirect(err):
        redirected = isinstance(err, aiohttp.RedirectClientError) and err.args
        location = redact(str(err.args[0])) if redirected else None
        if isinstance(err, aiohttp.NonHttpUrlRedirectClientError):
            detail = f"{location} is not an http(s) URL"
        return RedirectError(f"cannot follow the redirect: {detail}", **where, location=location)
    if isinstance(err, aiohttp.ClientResponseError):
        return APIConnectionError(
            f"the answer is not valid HTTP: {redact(err.message)}", **where, request_sent=True
        )
    if isinstance(err, aiohttp.ClientError | OSError):
        return APIConnectionError(f"connection lost: {detail}", **where, request_sent=True)
    return None


async def read_body(resp: aiohttp.ClientResponse, *, limit: int, method: str, path: str) -> bytes:
    """The whole (decompressed) body, read in chunks; `ResponseTooLargeError` past `limit`.

    Reading stops at the first chunk past the limit and the connection is closed, so a
    compressed bomb costs at most `limit` plus one chunk of memory.
    """
    declared = resp.content_length
    if declared is not None and declared > limit and "Content-Encoding" not in resp.headers:
        resp.close()
        raise ResponseTooLargeError(method=method, path=path, status=resp.status, limit=limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        if size > limit:
            resp.close()
            raise ResponseTooLargeError(method=method, path=path, status=resp.status, limit=limit)
        chunks.append(chunk)
    return b"".join(chunks)
