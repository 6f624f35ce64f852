"""`KantataClient`: the entry point. One session, one graph, every resource."""

from __future__ import annotations

import asyncio
import logging
import ssl as ssl_module
from types import TracebackType

import aiohttp
from yarl import URL

from ._coalesce import Coalescer
from ._errors import ClientClosedError, EventLoopError
from ._graph import Graph
from ._retry import RetryPolicy
from ._secret import Secret
from ._transport import Transport
from ._urls import checked_base_url
from .models import (
    AccountMembership,
    CustomFieldValue,
    ExternalReference,
    Model,
    Role,
    Skill,
    SkillMembership,
    Workweek,
)
from .resources.collections import Collection
from .resources.users import Users
from .resources.workweek_memberships import WorkweekMemberships

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_MAX_RESPONSE_BYTES", "KantataClient"]

log = logging.getLogger("kantata_async")

DEFAULT_BASE_URL = "https://api.mavenlink.com/api/v1/"
# Kantata times requests out after 3 minutes; wait a little longer than the server does.
DEFAULT_TIMEOUT = 185.0
DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024
"""The largest decoded body the client reads: a 200-record page with every include is
a few MB; a compressed bomb stops here."""


def _check_header_value(name: str, value: str) -> None:
    """ValueError for what no HTTP header can carry: control characters (C0, DEL, C1) and
    lone surrogates (not encodable). Only the character is named, never the value."""
    for position, char in enumerate(value):
        code = ord(char)
        if code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF:
            raise ValueError(
                f"{name} must not contain control characters or lone surrogates (found "
                f"U+{code:04X} at position {position})"
            )


def _user_agent() -> str:
    from . import __version__

    return f"kantata_async/{__version__} aiohttp/{aiohttp.__version__}"


class KantataClient:
    """An async client for the Kantata OX API.

    Use it as an async context manager, one per application (in a web app, create it in the
    lifespan and share it):

        async with KantataClient(token) as client:
            me = await client.users.me(include=["role"])
            async for user in client.users.list(on_my_account=True, include=["skills"]):
                print(user.full_name, [s.name for s in user.skills])

    Every response of every call merges into `client.graph`, so the same record is the same
    object across calls, updated in place.

    Args:
        token: the OAuth bearer token. It never appears in errors, logs or reprs.
        base_url: the API root. Plain `http://` is refused unless the host is loopback or
            `allow_insecure_http=True`.
        max_concurrency: requests in flight at once, for the whole client: the ceiling.
        adaptive_rate: learn the token's rate limit from 429s (the default): the first 429
            sets a rate the whole client sends at, paced with jitter; later 429s lower it,
            successes raise it slowly (see `client.transport.pacing`). False: no pacing, up
            to `max_concurrency` requests in flight whatever the server answers.
        max_retries: retries for a failed idempotent request (see `RetryPolicy`).
        timeout: seconds for a whole request, including reading the body.
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

    def __init__(
        self,
        token: str,
        *,
        base_url: str | URL = DEFAULT_BASE_URL,
        max_concurrency: int = 8,
        adaptive_rate: bool = True,
        max_retries: int = 4,
        timeout: float = DEFAULT_TIMEOUT,
        session: aiohttp.ClientSession | None = None,
        user_agent: str | None = None,
        retry: RetryPolicy | None = None,
        allow_insecure_http: bool = False,
        trace_configs: list[aiohttp.TraceConfig] | None = None,
        ssl: ssl_module.SSLContext | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        if not isinstance(token, str) or not token.strip():
            raise ValueError("token must be a non-empty string")
        _check_header_value("token", token)
        url = checked_base_url(
            base_url, allow_insecure_http=allow_insecure_http, carries="the token"
        )
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
            raise ValueError(f"max_concurrency must be an int, got {max_concurrency!r}")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
        if isinstance(max_response_bytes, bool) or not isinstance(max_response_bytes, int):
            raise ValueError(f"max_response_bytes must be an int, got {max_response_bytes!r}")
        if max_response_bytes < 1:
            raise ValueError(f"max_response_bytes must be >= 1, got {max_response_bytes}")
        if user_agent is not None:
            _check_header_value("user_agent", user_agent)
        self.base_url = url
        self.max_response_bytes = max_response_bytes
        self.max_concurrency = max_concurrency
        self.adaptive_rate = bool(adaptive_rate)
        self.timeout = timeout
        self.retry = retry if retry is not None else RetryPolicy(max_retries=max_retries)
        self.user_agent = user_agent or _user_agent()
        self.graph = Graph()
        self.users = Users(self)
        self.workweek_memberships = WorkweekMemberships(self)
        self.account_memberships: Collection[AccountMembership] = Collection(
            self, "account_memberships"
        )
        self.skill_memberships: Collection[SkillMembership] = Collection(self, "skill_memberships")
        self.skills: Collection[Skill] = Collection(self, "skills")
        self.roles: Collection[Role] = Collection(self, "roles")
        self.workweeks: Collection[Workweek] = Collection(self, "workweeks")
        self.custom_field_values: Collection[CustomFieldValue] = Collection(
            self, "custom_field_values"
        )
        self.external_references: Collection[ExternalReference] = Collection(
            self, "external_references"
        )
        self._collections: dict[str, Collection[Model]] = {}
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
                timeout=self.timeout,
                retry=self.retry,
                user_agent=self.user_agent,
                session=self._session,
                trace_configs=self._trace_configs,
                ssl=self._ssl,
                max_response_bytes=self.max_response_bytes,
                adaptive_rate=self.adaptive_rate,
            )
        return self._transport

    def _collection(self, key: str) -> Collection[Model]:
        """A read-only resource for any top-level key (used to resolve nested includes)."""
        found = self._collections.get(key)
        if found is None:
            found = self._collections[key] = Collection(self, key)
        return found

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
