"""`KantataClient`: the entry point. One session, one graph, every resource."""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import ssl as ssl_module
from collections.abc import Mapping
from types import TracebackType

import aiohttp
from yarl import URL

from ._coalesce import Coalescer
from ._errors import ClientClosedError, EventLoopError
from ._generated.client import Resources
from ._graph import Graph
from ._options import (
    DEFAULT_TIMEOUT,
    Options,
    Timeout,
    check_header_value,
    check_max_retries,
    options_with,
)
from ._raw import RawCalls
from ._requests import ClientRequests
from ._retry import RetryPolicy
from ._secret import Secret
from ._transport import Transport
from ._urls import checked_base_url
from .resources._base import Resource

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_MAX_RESPONSE_BYTES", "KantataClient"]

log = logging.getLogger("kantata_async")

DEFAULT_BASE_URL = "https://api.mavenlink.com/api/v1/"
TOKEN_ENV = "KANTATA_TOKEN"
BASE_URL_ENV = "KANTATA_BASE_URL"
DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024
"""The largest decoded body the client reads: a 200-record page with every include is
a few MB; a compressed bomb stops here."""


def _user_agent() -> str:
    from . import __version__

    return f"kantata_async/{__version__} aiohttp/{aiohttp.__version__}"


class KantataClient(Resources, RawCalls):
    """An async client for the Kantata OX API.

    Use it as an async context manager, one per application (in a web app, create it in the
    lifespan and share it):

        async with KantataClient(token) as client:
            me = await client.users.me(include=["role"])
            async for user in client.users.list(on_my_account=True, include=["skills"]):
                print(user.full_name, [s.name for s in user.skills])

    Every response of every call merges into `client.graph`, so the same record is the same
    object across calls, updated in place. Every Kantata collection is an attribute named by
    its top-level key (`client.time_entries`, `client.workspaces`, ...), made on first use;
    `client.get("path", params=...)` (and `post`, `put`, `delete`, `get_json`) reaches any
    other path with the same retries, limits and graph.

    Args:
        token: the OAuth bearer token (default: `$KANTATA_TOKEN`). It never appears in
            errors, logs or reprs.
        base_url: the API root (default: `$KANTATA_BASE_URL`, else Kantata's). Plain
            `http://` is refused unless the host is loopback or `allow_insecure_http=True`.
        max_concurrency: requests in flight at once, for the whole client: the ceiling.
        adaptive_rate: learn the token's rate limit from 429s (the default): the first 429
            sets a rate the whole client sends at, paced with jitter; later 429s lower it,
            successes raise it slowly (see `client.transport.pacing`). False: no pacing, up
            to `max_concurrency` requests in flight whatever the server answers.
        max_retries: retries for a failed idempotent request (default 4; see `RetryPolicy`).
        timeout: a `Timeout` (total, connect, read), or seconds for the total of each attempt.
        session: an `aiohttp.ClientSession` you own; the client uses it and never closes it.
        user_agent: the User-Agent header.
        retry: a full `RetryPolicy`, instead of `max_retries`.
        trace_configs: aiohttp trace configs for the session the client creates.
        ssl: an `ssl.SSLContext` for the session the client creates, e.g. one trusting a
            private CA. Certificates are always verified; there is no switch to turn that off.
        max_response_bytes: the largest response body read, after decompression;
            `ResponseTooLargeError` past it.

    A client belongs to the event loop it is first used in: using it from another loop
    (a second `asyncio.run()`) raises `EventLoopError`. Create one client per loop.
    """

    _api: ClientRequests

    def __init__(
        self,
        token: str | None = None,
        *,
        base_url: str | URL | None = None,
        max_concurrency: int = 8,
        adaptive_rate: bool = True,
        max_retries: int | None = None,
        timeout: Timeout | float = DEFAULT_TIMEOUT,
        session: aiohttp.ClientSession | None = None,
        user_agent: str | None = None,
        retry: RetryPolicy | None = None,
        allow_insecure_http: bool = False,
        trace_configs: list[aiohttp.TraceConfig] | None = None,
        ssl: ssl_module.SSLContext | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        if token is None:
            token = os.environ.get(TOKEN_ENV)
            if not token:
                raise ValueError(
                    f"no token: pass KantataClient(token) or set {TOKEN_ENV} in the environment"
                )
        if base_url is None:
            base_url = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
        if not isinstance(token, str) or not token.strip():
            raise ValueError("token must be a non-empty string")
        check_header_value("token", token)
        url = checked_base_url(
            base_url, allow_insecure_http=allow_insecure_http, carries="the token"
        )
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
            raise ValueError(f"max_concurrency must be an int, got {max_concurrency!r}")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if isinstance(max_response_bytes, bool) or not isinstance(max_response_bytes, int):
            raise ValueError(f"max_response_bytes must be an int, got {max_response_bytes!r}")
        if max_response_bytes < 1:
            raise ValueError(f"max_response_bytes must be >= 1, got {max_response_bytes}")
        if user_agent is not None:
            check_header_value("user_agent", user_agent)
        self.base_url = url
        self.max_response_bytes = max_response_bytes
        self.max_concurrency = max_concurrency
        self.adaptive_rate = bool(adaptive_rate)
        self.timeout = Timeout.of(timeout)
        if retry is None:
            retry = RetryPolicy()
            if max_retries is not None:
                retry = RetryPolicy(max_retries=check_max_retries(max_retries))
        elif max_retries is not None:
            raise ValueError("pass max_retries= or retry=, not both: a RetryPolicy has its own")
        self.retry = retry
        self.user_agent = user_agent or _user_agent()
        self.graph = Graph()
        self._api = ClientRequests(self, Options(timeout=self.timeout, retry=self.retry))
        self._root = self  # a `with_options` view's is the client it came from
        # Identical GETs in flight share one request and its merged records.
        self._reads = Coalescer()
        self.__token = Secret(token)
        self._session = session
        if ssl is not None and not isinstance(ssl, ssl_module.SSLContext):
            raise ValueError("ssl must be an ssl.SSLContext (verification cannot be turned off)")
        if ssl is not None and ssl.verify_mode == ssl_module.CERT_NONE:
            raise ValueError("ssl: this context does not verify certificates; refusing it")
        if ssl is not None and session is not None:
            raise ValueError("pass ssl= or session=, not both: configure TLS on your session")
        if session is not None and session.auth is not None:
            raise ValueError(
                "the session has auth= set, which aiohttp will not send beside the client's "
                "token: pass a session without auth"
            )
        self._ssl = ssl
        self._trace_configs = trace_configs
        self._transport: Transport | None = None
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"KantataClient(base_url={str(self.base_url)!r}, "
            f"max_concurrency={self.max_concurrency})"
        )

    @property
    def transport(self) -> Transport:
        """The transport (created on first use, inside the running event loop)."""
        return self._transport_for_call()

    def _transport_for_call(self) -> Transport:
        if self._root is not self:
            return self._root._transport_for_call()
        if self._closed:
            raise ClientClosedError("this KantataClient is closed; create a new one")
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError as err:
            raise EventLoopError(
                "KantataClient needs a running event loop: use it inside `async def` code"
            ) from err
        if self._transport is not None and self._transport.loop is not loop:
            raise EventLoopError(
                "this KantataClient was first used in another event loop"
                + (", which is now closed" if self._transport.loop.is_closed() else "")
                + " (for example an earlier asyncio.run()). Its connections belong to that "
                "loop. Create the client inside the running loop: one client per loop."
            )
        if self._session is not None and self._session.closed:
            raise ClientClosedError("the aiohttp session given to this KantataClient is closed")
        if self._transport is None:
            self._transport = Transport(
                token=self.__token,
                base_url=self.base_url,
                max_concurrency=self.max_concurrency,
                options=self._api.options,
                user_agent=self.user_agent,
                session=self._session,
                trace_configs=self._trace_configs,
                ssl=self._ssl,
                max_response_bytes=self.max_response_bytes,
                adaptive_rate=self.adaptive_rate,
            )
        return self._transport

    def with_options(
        self,
        *,
        timeout: Timeout | float | None = None,
        max_retries: int | None = None,
        max_concurrency: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> KantataClient:
        """This client with some settings changed, sharing its session, graph, rate limit
        and shared reads (like openai-python's `with_options`). Cheap: make one per call.

            fast = client.with_options(timeout=Timeout(10, connect=3), max_retries=1)
            me = await fast.users.me()

        `max_concurrency` can lower the ceiling for the view's own requests, not raise it
        (they also count against this client's). `extra_headers` and `extra_query` go on
        every request; they cannot replace what a call sets itself (the token, `page`,
        `include`, ...): that is a `ValueError`. The view owns nothing: closing it closes
        nothing; close the client it came from (closing that closes the views too).
        """
        options = options_with(
            self._api.options,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
            extra_query=extra_query,
        )
        limits, concurrency = self._api._limits, self.max_concurrency
        if max_concurrency is not None:
            ceiling = self.max_concurrency  # a view's own: a view of a view stays under it
            if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
                raise ValueError(f"max_concurrency must be an int, got {max_concurrency!r}")
            if not 1 <= max_concurrency <= ceiling:
                raise ValueError(
                    f"max_concurrency of a view must be 1 to {ceiling} (the client's), "
                    f"got {max_concurrency}"
                )
            concurrency = max_concurrency
            if max_concurrency < ceiling:
                limits = (*limits, asyncio.Semaphore(max_concurrency))
        view = copy.copy(self)
        for name, value in list(vars(view).items()):
            if isinstance(value, Resource):  # made for this client's options; made anew
                delattr(view, name)
        view.max_concurrency = concurrency
        view.timeout, view.retry = options.timeout, options.retry
        view._api = ClientRequests(view, options, limits)
        return view

    async def __aenter__(self) -> KantataClient:
        self._transport_for_call()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the session the client created (not one you passed in). Idempotent.

        From an event loop other than the client's, the session cannot be closed (its
        connections belong to the other loop): the client is marked closed and a warning is
        logged.
        """
        if self._root is not self:
            return  # a view owns nothing
        self._closed = True
        transport = self._transport
        if transport is None:
            return
        if transport.loop is not asyncio.get_running_loop():
            log.warning(
                "KantataClient.aclose() from another event loop than the client's: its "
                "session cannot be closed from here; close the client in its own loop"
            )
            return
        await transport.close()
