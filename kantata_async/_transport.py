"""The only module that touches aiohttp: one session, retries, the shared limit and pause.

`Transport.request` sends one logical request: it waits out any client-wide pause, takes a
slot of the client-wide concurrency limit, sends, and maps the answer to decoded JSON or to a
typed error. Failed attempts are retried as `RetryPolicy` says. A 429 or 503 pauses every
request of the client until its retry time, not only the one that got it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from ssl import SSLContext
from typing import Any

import aiohttp
from yarl import URL

from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    RateLimitError,
    ResponseValidationError,
    parse_error_details,
    status_error_class,
)
from ._json import DECODE_ERRORS as _DECODE_ERRORS
from ._json import loads as _loads
from ._retry import Failure, RetryPolicy, parse_retry_after
from ._secret import Secret

__all__ = ["Transport"]

log = logging.getLogger("kantata_async")

# Built URLs kept per path: joining one is a noticeable share of a small request's cost.
_URL_CACHE_SIZE = 1024

# Statuses after which the whole client waits, not just the request that got them.
_PAUSE_STATUSES = frozenset({429, 503})

Body = Mapping[str, Any] | Callable[[], aiohttp.FormData] | None


class Transport:
    """Sends requests for one client. Create and close it inside a running event loop."""

    def __init__(
        self,
        *,
        token: str,
        base_url: URL,
        max_concurrency: int,
        timeout: float,
        retry: RetryPolicy,
        user_agent: str,
        session: aiohttp.ClientSession | None,
        trace_configs: list[aiohttp.TraceConfig] | None = None,
        ssl: SSLContext | None = None,
    ) -> None:
        self.base_url = base_url
        self.retry = retry
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._headers = {
            "Authorization": Secret(f"Bearer {token}"),
            "Accept": "application/json",
            "User-Agent": user_agent,
        }
        self._limit = asyncio.Semaphore(max_concurrency)
        self._paused_until = 0.0
        self._own_session = session is None
        self._session = session or aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max_concurrency, ssl=ssl or True),
            trace_configs=trace_configs,
        )
        self._urls: dict[tuple[str, ...], URL] = {}
        self.requests_sent = 0
        self.retries = 0

    @property
    def closed(self) -> bool:
        return self._session.closed

    async def close(self) -> None:
        """Close the session if this transport created it; a caller's session is left open."""
        if self._own_session and not self._session.closed:
            await self._session.close()

    def pause(self, seconds: float) -> None:
        """Hold every request of this client for `seconds` from now."""
        loop = asyncio.get_running_loop()
        self._paused_until = max(self._paused_until, loop.time() + seconds)

    async def _wait_out_pause(self) -> None:
        loop = asyncio.get_running_loop()
        # A loop, not an Event: another 429 may push the end of the pause while we sleep.
        while (wait := self._paused_until - loop.time()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait)

    async def request(
        self,
        method: str,
        path: tuple[str, ...],
        *,
        params: Mapping[str, str] | None = None,
        body: Body = None,
    ) -> Any:
        """Send `method` to `path` (segments under the API root); return the decoded JSON.

        Returns None for an empty (204) answer. `body` is a JSON object, or a callable
        building the multipart form (called per attempt: a form can be sent only once).
        Raises `APIStatusError` subclasses, `APIConnectionError`, `APITimeoutError` or
        `ResponseValidationError`.
        """
        rel = "/".join(path)
        url = self._urls.get(path)
        if url is None:
            if len(self._urls) >= _URL_CACHE_SIZE:
                self._urls.clear()
            url = self._urls[path] = self.base_url.joinpath(*path)
        retries_done = 0
        while True:
            status: int | None = None
            failure: Failure | None = None
            retry_after: float | None = None
            error: Exception
            async with self._limit:
                # The pause is checked with the slot in hand: a request that queued for a
                # slot before a 429 arrived must not go out during the pause.
                await self._wait_out_pause()
                started = time.monotonic()
                self.requests_sent += 1
                try:
                    status, headers, raw = await self._send(method, url, params, body)
                except aiohttp.ClientConnectorError as err:
                    failure, error = (
                        Failure.CONNECT,
                        APIConnectionError(
                            f"cannot connect: {err}", method=method, path=rel, request_sent=False
                        ),
                    )
                except aiohttp.ConnectionTimeoutError as err:
                    failure, error = (
                        Failure.CONNECT,
                        APITimeoutError(
                            f"timed out connecting: {err}",
                            method=method,
                            path=rel,
                            request_sent=False,
                        ),
                    )
                except TimeoutError:
                    failure, error = (
                        Failure.TIMEOUT,
                        APITimeoutError(
                            f"no complete answer within {self._timeout.total} s",
                            method=method,
                            path=rel,
                            request_sent=True,
                        ),
                    )
                except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as err:
                    failure, error = (
                        Failure.SENT,
                        APIConnectionError(
                            f"connection lost: {err or type(err).__name__}",
                            method=method,
                            path=rel,
                            request_sent=True,
                        ),
                    )
            elapsed = time.monotonic() - started
            if failure is None:
                assert status is not None
                log.debug(
                    "%s %s -> %s (attempt %d, %.3f s)",
                    method,
                    rel,
                    status,
                    retries_done + 1,
                    elapsed,
                )
                if status < 400:
                    return self._decode(method, rel, status, headers, raw)
                retry_after = parse_retry_after(headers.get("Retry-After"))
                error = self._status_error(method, rel, status, raw, retry_after)
            else:
                log.debug(
                    "%s %s -> %s (attempt %d, %.3f s)",
                    method,
                    rel,
                    error,
                    retries_done + 1,
                    elapsed,
                )
            delay = self.retry.delay(
                method=method,
                retries_done=retries_done,
                status=status,
                failure=failure,
                retry_after=retry_after,
            )
            if delay is None:
                raise error
            retries_done += 1
            self.retries += 1
            log.info(
                "retrying %s %s in %.2f s (retry %d of %d) after: %s",
                method,
                rel,
                delay,
                retries_done,
                self.retry.max_retries,
                error,
            )
            if status in _PAUSE_STATUSES:
                self.pause(delay)
            else:
                await asyncio.sleep(delay)

    async def _send(
        self, method: str, url: URL, params: Mapping[str, str] | None, body: Body
    ) -> tuple[int, Mapping[str, str], bytes]:
        kwargs: dict[str, Any] = {"params": params, "headers": self._headers}
        if callable(body):
            kwargs["data"] = body()
        elif body is not None:
            kwargs["json"] = body
        async with self._session.request(method, url, timeout=self._timeout, **kwargs) as resp:
            raw = await resp.read()
            return resp.status, resp.headers, raw

    @staticmethod
    def _decode(method: str, rel: str, status: int, headers: Mapping[str, str], raw: bytes) -> Any:
        if status == 204 or not raw.strip():
            return None
        content_type = headers.get("Content-Type", "")
        if "json" not in content_type:
            raise ResponseValidationError(
                f"expected JSON, got {content_type or 'no content type'}: {raw[:80]!r}",
                method=method,
                path=rel,
                status=status,
            )
        try:
            return _loads(raw)
        except _DECODE_ERRORS as err:
            raise ResponseValidationError(
                f"the body is not valid JSON ({err}); {len(raw)} bytes starting {raw[:60]!r}",
                method=method,
                path=rel,
                status=status,
            ) from err

    @staticmethod
    def _status_error(
        method: str, rel: str, status: int, raw: bytes, retry_after: float | None
    ) -> APIStatusError:
        decoded: Any = None
        with contextlib.suppress(*_DECODE_ERRORS):
            decoded = _loads(raw) if raw.strip() else None
        text = raw.decode("utf-8", "replace")
        cls = status_error_class(status)
        kwargs: dict[str, Any] = {
            "status": status,
            "method": method,
            "path": rel,
            "errors": parse_error_details(decoded),
            "body": text,
        }
        if cls is RateLimitError:
            return RateLimitError(retry_after=retry_after, **kwargs)
        return cls(**kwargs)
