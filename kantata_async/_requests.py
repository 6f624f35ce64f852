"""The client's internal request API: all a resource may use of its client (`ClientAPI`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ._graph import Graph, Ticket
from ._models.base import Model
from ._options import Options, Timeout, options_with
from ._transport import Body, Transport
from .resources._base import Resource
from .resources._registry import RESOURCES

if TYPE_CHECKING:
    from ._client import KantataClient

__all__ = ["ClientRequests"]

T = TypeVar("T")
_READS = frozenset({"GET", "HEAD"})


class ClientRequests:
    """The client's internal request API, all a resource may use of it (`ClientAPI`).

    `options` are what its requests are sent with: the client's, a `with_options` view's,
    or one call's (`timeout=`, `extra_headers=`, `extra_query=` of a resource method).
    """

    def __init__(
        self, client: KantataClient, options: Options, limits: tuple[asyncio.Semaphore, ...] = ()
    ) -> None:
        self._client = client
        self.options = options
        # The lower ceilings of a view (and of the views it came from) on requests in flight,
        # taken outermost first.
        self._limits = limits

    @property
    def graph(self) -> Graph:
        return self._client.graph

    @property
    def max_concurrency(self) -> int:
        return self._client.max_concurrency

    async def request(
        self,
        method: str,
        path: tuple[str, ...],
        *,
        params: Mapping[str, str] | None = None,
        body: Body = None,
        on_send: Callable[[], object] | None = None,
    ) -> Any:
        transport = self._client._transport_for_call()
        if not self._limits:
            return await self._send(transport, method, path, params, body, on_send)
        async with contextlib.AsyncExitStack() as held:
            for limit in self._limits:
                await held.enter_async_context(limit)
            return await self._send(transport, method, path, params, body, on_send)

    async def _send(
        self,
        transport: Transport,
        method: str,
        path: tuple[str, ...],
        params: Mapping[str, str] | None,
        body: Body,
        on_send: Callable[[], object] | None,
    ) -> Any:
        options = self.options
        if method in _READS:
            return await transport.request(
                method, path, params=params, body=body, on_send=on_send, options=options
            )
        # A read asked for after a write is sent (or answered) must not share a request sent
        # before it: it would return what the server held before the write.
        reads = self._client._reads
        reads.forget()
        try:
            return await transport.request(
                method, path, params=params, body=body, on_send=on_send, options=options
            )
        finally:
            reads.forget()

    async def request_stamped(
        self,
        method: str,
        path: tuple[str, ...],
        *,
        params: Mapping[str, str] | None = None,
        body: Body = None,
    ) -> tuple[Any, Ticket]:
        graph = self._client.graph
        sent: list[Ticket] = []
        payload = await self.request(
            method, path, params=params, body=body, on_send=lambda: sent.append(graph.ticket())
        )
        return payload, sent[-1]

    async def shared(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> T:
        # Only calls sent with equal options share (a shorter timeout must not join a longer).
        return await self._client._reads.run((self.options, key), work)

    def with_options(
        self,
        *,
        timeout: Timeout | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> ClientRequests:
        options = options_with(
            self.options, timeout=timeout, extra_headers=extra_headers, extra_query=extra_query
        )
        return (
            self if options is self.options else ClientRequests(self._client, options, self._limits)
        )

    def redact(self, text: str) -> str:
        return self._client._transport_for_call().redact(text)

    def resource(self, key: str) -> Resource[Model] | None:
        cls = RESOURCES.get(key)
        if cls is None:
            return None
        found: Resource[Model] = getattr(self._client, key)
        if self is not self._client._api:  # one call's options: its resources use them too
            return type(found)(self)
        return found
