"""The client's requests: one session, retries, the shared limit and pause.

`Transport.request` sends one logical request: it takes a slot of the client-wide
concurrency limit, waits out any client-wide pause and its paced moment (`Admission`), sends,
and maps the answer to decoded JSON or to a typed error. Failed attempts are retried as
`RetryPolicy` says. A 429 sets or lowers the rate the client sends at (`AdaptiveRate`), which
then holds every request back; a 503, a 429 with `Retry-After`, and any 429 with adaptivity
off pause every request of the client until its retry time, not only the one that got it.
aiohttp's own exceptions are mapped in `_http_errors`, shared with OAuth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from ssl import SSLContext
from typing import Any

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from . import _json
from ._admission import Admission
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    RateLimitError,
    RedirectError,
    ResponseValidationError,
    UnexpectedRedirectError,
    parse_error_details,
    status_error_class,
)
from ._http_errors import map_aiohttp_errors, read_body
from ._options import Options
from ._rate import AdaptiveRate
from ._retry import Failure, parse_retry_after
from ._secret import Redactor, Secret

__all__ = ["Transport"]

log = logging.getLogger("kantata_async")

# Built URLs kept per path: joining one is a noticeable share of a small request's cost.
_URL_CACHE_SIZE = 1024

# Statuses after which the whole client waits, not just the request that got them.
_PAUSE_STATUSES = frozenset({429, 503})

# Only reads follow redirects. aiohttp would replay a write at the new place, or turn a
# POST answered with 302 into a GET whose answer looks like the write's result.
_FOLLOWS_REDIRECTS = frozenset({"GET", "HEAD"})

Body = Mapping[str, Any] | Callable[[], aiohttp.FormData] | None


def _failure_of(err: APIConnectionError) -> Failure | None:
    """How an attempt without an answer failed, for the retry policy; None: never retry."""
    if isinstance(err, RedirectError):
        return None  # the server would redirect the same way again
    if not err.request_sent:
        return Failure.CONNECT
    return Failure.TIMEOUT if isinstance(err, APITimeoutError) else Failure.SENT


class Transport:
    """Sends requests for one client. Create and close it inside a running event loop."""

    def __init__(
        self,
        *,
        token: str,
        base_url: URL,
        max_concurrency: int,
        options: Options,
        user_agent: str,
        session: aiohttp.ClientSession | None,
        max_response_bytes: int,
        trace_configs: list[aiohttp.TraceConfig] | None = None,
        ssl: SSLContext | None = None,
        adaptive_rate: bool = True,
    ) -> None:
        self.base_url = base_url
        self.options = options
        """What a request is sent with unless its call says otherwise."""
        # The loop the session and the semaphore belong to (see KantataClient).
        self.loop = asyncio.get_running_loop()
        self._max_response_bytes = max_response_bytes
        self._redact = Redactor(token)
        self._headers = {
            "Authorization": Secret(f"Bearer {token}"),
            "Accept": "application/json",
            "User-Agent": user_agent,
        }
        self.pacing = AdaptiveRate(max_concurrency, adaptive=adaptive_rate, clock=self.loop.time)
        """The client-wide sending rate, as learned from 429s so far (`pacing.rate`)."""
        self._admission = Admission(self.pacing)
        self._own_session = session is None
        self._session = session or aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max_concurrency, ssl=ssl or True),
            trace_configs=trace_configs,
        )
        self._urls: dict[tuple[str, ...], URL] = {}
        self.requests_sent = 0
        self.retries = 0
        self.rate_limited = 0
        """Answers that were 429 (each counts, retried or not)."""

    @property
    def closed(self) -> bool:
        return self._session.closed

    async def close(self) -> None:
        """Close the session if this transport created it; a caller's session is left open."""
        if self._own_session and not self._session.closed:
            await self._session.close()

    def pause(self, seconds: float) -> None:
        """Hold every request of this client for `seconds` from now."""
        self.pacing.pause(seconds)

    async def request(
        self,
        method: str,
        path: tuple[str, ...],
        *,
        params: Mapping[str, str] | None = None,
        body: Body = None,
        on_send: Callable[[], object] | None = None,
        options: Options | None = None,
    ) -> Any:
        """Send `method` to `path` (segments under the API root); return the decoded JSON.

        Returns None for an empty (204) answer. `body` is a JSON object, or a callable
        building the multipart form (called per attempt: a form can be sent only once).
        `on_send` is called as each attempt goes out, after any wait for a slot, a pause or
        its paced moment (the graph's ticket is taken there). `options` (default: the
        client's) says the timeout, the retries and any extra headers and query.
        Raises `APIStatusError` subclasses (`UnexpectedRedirectError` for a 3xx),
        `APIConnectionError` (`APITimeoutError`, `RedirectError`) or
        `ResponseValidationError` (`ResponseTooLargeError`); nothing from aiohttp.
        """
        rel = "/".join(path)
        url = self._urls.get(path)
        if url is None:
            if len(self._urls) >= _URL_CACHE_SIZE:
                self._urls.clear()
            url = self._urls[path] = self.base_url.joinpath(*path)
        admission, pacing = self._admission, self.pacing
        options = options or self.options
        retry = options.retry
        params = options.params(params)
        retries_done = 0
        while True:
            status: int | None = None
            failure: Failure | None = None
            retry_after: float | None = None
            pause_all = True  # a 429 pauses the whole client (see AdaptiveRate.on_response)
            error: APIConnectionError | APIStatusError | None = None
            await admission.enter()
            try:
                if on_send is not None:
                    on_send()
                sent_at = pacing.clock()
                self.requests_sent += 1
                try:
                    status, headers, raw = await self._send(method, url, rel, params, body, options)
                except APIConnectionError as err:
                    failure, error = _failure_of(err), err
                else:
                    throttled = status == 429
                    pause_all = pacing.on_response(sent_at=sent_at, throttled=throttled)
                    if throttled:
                        self.rate_limited += 1
                        log.info("429 on %s %s: now sending at %r", method, rel, pacing)
            finally:
                admission.leave()
            elapsed = pacing.clock() - sent_at
            log.debug(
                "%s %s -> %s (attempt %d, %.3f s)",
                method,
                rel,
                status if error is None else error,
                retries_done + 1,
                elapsed,
            )
            if error is None:
                assert status is not None
                if status < 300:
                    return self._decode(method, rel, status, headers, raw)
                if status < 400:
                    raise self._redirect_error(method, rel, status, headers, raw)
                retry_after = parse_retry_after(headers.get("Retry-After"))
                error = self._status_error(method, rel, status, headers, raw, retry_after)
            delay = retry.delay(
                method=method,
                retries_done=retries_done,
                status=status,
                failure=failure,
                retry_after=retry_after,
            )
            if delay is None:
                raise error
            self._check_open(method, rel)  # no retry on a session closed meanwhile
            retries_done += 1
            self.retries += 1
            log.info(
                "retrying %s %s in %.2f s (retry %d of %d) after: %s",
                method,
                rel,
                delay,
                retries_done,
                retry.max_retries,
                error,
            )
            if status in _PAUSE_STATUSES and (
                status != 429 or pause_all or retry_after is not None
            ):
                self.pause(delay)
            else:
                await asyncio.sleep(delay)

    async def _send(
        self,
        method: str,
        url: URL,
        rel: str,
        params: Mapping[str, str] | None,
        body: Body,
        options: Options,
    ) -> tuple[int, Mapping[str, str], bytes]:
        headers = self._headers
        if options.headers:
            headers = {**headers, **dict(options.headers)}
        kwargs: dict[str, Any] = {
            "params": params,
            "headers": headers,
            "timeout": options.client_timeout,
            # Per request, so a caller's session made with raise_for_status=True behaves
            # like any other: error statuses come back here, to be typed and retried.
            "raise_for_status": False,
            "allow_redirects": method in _FOLLOWS_REDIRECTS,
        }
        if callable(body):
            kwargs["data"] = body()
        elif body is not None:
            kwargs["json"] = body
        self._check_open(method, rel)  # it may have closed while this call waited its turn
        with map_aiohttp_errors(method, rel, timeout=options.timeout, redact=self._redact):
            async with self._session.request(method, url, **kwargs) as resp:
                raw = await read_body(resp, limit=self._max_response_bytes, method=method, path=rel)
                return resp.status, resp.headers, raw

    def _check_open(self, method: str, rel: str) -> None:
        if self._session.closed:
            whose = "the KantataClient was closed" if self._own_session else "the caller's"
            raise ClientClosedError(f"{method} {rel}: the session is closed ({whose})")

    def _headers_of(self, headers: Mapping[str, str]) -> CIMultiDict[str]:
        """An answer's headers for an error, with the token redacted."""
        return CIMultiDict((name, self._redact(value)) for name, value in headers.items())

    def _text(self, raw: bytes) -> str:
        """A body as text, with the token redacted (servers echo what they were sent)."""
        return self._redact(raw.decode("utf-8", "replace"))

    def redact(self, text: str) -> str:
        """`text` with the token blanked out: for messages quoting what a server sent."""
        return self._redact(text)

    def _decode(
        self, method: str, rel: str, status: int, headers: Mapping[str, str], raw: bytes
    ) -> Any:
        if status == 204 or not raw.strip():
            return None
        content_type = headers.get("Content-Type", "")
        if "json" not in content_type:
            raise ResponseValidationError(
                f"expected JSON, got {self._redact(content_type) or 'no content type'}: "
                f"{self._text(raw)[:80]!r}",
                method=method,
                path=rel,
                status=status,
                headers=self._headers_of(headers),
            )
        try:
            return _json.loads(raw)
        except _json.DECODE_ERRORS as err:
            raise ResponseValidationError(
                f"the body is not JSON this SDK can read ({type(err).__name__}: "
                f"{self._redact(str(err))[:200]}); {len(raw)} bytes starting "
                f"{self._text(raw)[:60]!r}",
                method=method,
                path=rel,
                status=status,
                headers=self._headers_of(headers),
            ) from err

    def _redirect_error(
        self, method: str, rel: str, status: int, headers: Mapping[str, str], raw: bytes
    ) -> UnexpectedRedirectError:
        location = headers.get("Location")
        return UnexpectedRedirectError(
            location=None if location is None else self._redact(location),
            status=status,
            method=method,
            path=rel,
            errors=[],
            body=self._text(raw),
            headers=self._headers_of(headers),
        )

    def _status_error(
        self,
        method: str,
        rel: str,
        status: int,
        headers: Mapping[str, str],
        raw: bytes,
        retry_after: float | None,
    ) -> APIStatusError:
        # Redacted before parsing, so neither `body` nor the parsed `errors` hold the token.
        # The redaction marker has no JSON special character: JSON stays JSON.
        text = self._text(raw)
        decoded: Any = None
        with contextlib.suppress(*_json.DECODE_ERRORS):
            decoded = _json.loads(text) if text.strip() else None
        cls = status_error_class(status)
        kwargs: dict[str, Any] = {
            "status": status,
            "method": method,
            "path": rel,
            "errors": parse_error_details(decoded),
            "body": text,
            "headers": self._headers_of(headers),
        }
        if cls is RateLimitError:
            return RateLimitError(retry_after=retry_after, **kwargs)
        return cls(**kwargs)
