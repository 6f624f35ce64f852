"""`ClientAPI`: all a resource may use of its client (implemented by `_requests.ClientRequests`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .._graph import Graph, Ticket
from .._models.base import Model
from .._options import Options, Timeout
from .._transport import Body

if TYPE_CHECKING:
    from ._base import Resource

__all__ = ["ClientAPI"]

T = TypeVar("T")


class ClientAPI(Protocol):
    """What a resource needs of its client, and all it may use."""

    @property
    def graph(self) -> Graph: ...

    @property
    def max_concurrency(self) -> int: ...

    options: Options
    """What this API's requests are sent with (a call's extra query among them)."""

    async def request(
        self,
        method: str,
        path: tuple[str, ...],
        *,
        params: Mapping[str, str] | None = None,
        body: Body = None,
    ) -> Any:
        """Send one request (retried as the client's policy says); the decoded JSON."""

    async def request_stamped(
        self,
        method: str,
        path: tuple[str, ...],
        *,
        params: Mapping[str, str] | None = None,
        body: Body = None,
    ) -> tuple[Any, Ticket]:
        """`request`, and the graph's ticket for the answer: taken as the (last) attempt went
        out, after any wait for a slot, a pause or pacing, so that the graph orders the
        answer by when the server was asked."""

    async def shared(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> T:
        """`work()`, shared with the calls of the same `key` in flight (identical reads)."""

    def redact(self, text: str) -> str:
        """`text` with the token blanked out."""

    def with_options(
        self,
        *,
        timeout: Timeout | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> ClientAPI:
        """This API with one call's options (itself when none is given)."""

    def resource(self, key: str) -> Resource[Model] | None:
        """The resource of top-level key `key`, if the API has one."""
