"""The exception hierarchy: one root, `KantataError`, for everything the SDK raises."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "DanglingReferenceError",
    "ErrorDetail",
    "EventLoopError",
    "FieldNotLoadedError",
    "KantataError",
    "NotFoundError",
    "NotLoadedError",
    "PaginationError",
    "PayloadError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectError",
    "RelationNotLoadedError",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "ServerError",
    "ServiceUnavailableError",
    "UnexpectedRedirectError",
    "UnprocessableEntityError",
]


class KantataError(Exception):
    """Root of every exception kantata_async raises."""


class ClientClosedError(KantataError, RuntimeError):
    """The client (or the aiohttp session it was given) is closed; create a new one."""


class EventLoopError(KantataError, RuntimeError):
    """The client is used outside the event loop it was first used in, or outside any loop.

    Its session and connections belong to that loop; after `asyncio.run()` returns, that loop
    is closed for good. Create the client inside the running loop (in `main()`, a web app's
    lifespan, a test fixture): one client per event loop.
    """


class PayloadError(KantataError, ValueError):
    """A response body does not have the shape of a Kantata envelope.

    Raised by `Graph.merge` before it changes anything, so a bad payload never leaves
    the graph half-merged.
    """


class NotLoadedError(KantataError, AttributeError):
    """An attribute has no data yet because no response carried it.

    It is an `AttributeError`, so `getattr(user, "bio", None)` and `hasattr` work as usual.
    """


class FieldNotLoadedError(NotLoadedError):
    """A field that no response has carried so far (as opposed to an explicit `null`).

    Optional fields such as `User.bio` arrive only when asked for with `optional_fields=`.
    """

    def __init__(self, obj_label: str, field: str, *, optional: bool = False) -> None:
        self.field = field
        how = (
            f" It is an optional field: request it with optional_fields=[{field!r}]."
            if optional
            else ""
        )
        super().__init__(
            f"{obj_label}.{field} is not loaded: no response has carried this field yet "
            f"(it is absent, not null).{how}"
        )


class RelationNotLoadedError(NotLoadedError):
    """A relation whose ids never arrived, so the graph cannot tell what it holds."""

    def __init__(self, obj_label: str, relation: str, how: str) -> None:
        self.relation = relation
        super().__init__(f"{obj_label}.{relation} is not loaded: {how}")


class DanglingReferenceError(KantataError, LookupError):
    """A relation points at records that no response has carried.

    The server sent the id but not the record: it was not included in any response so far,
    or the server hides it from this token (for example a user on another account).
    """

    def __init__(self, obj_label: str, relation: str, key: str, ids: list[str]) -> None:
        self.relation = relation
        self.key = key
        self.ids = ids
        shown = ", ".join(f"{key}/{i}" for i in ids[:10])
        more = f" and {len(ids) - 10} more" if len(ids) > 10 else ""
        super().__init__(
            f"{obj_label}.{relation} points at {shown}{more}, which no response has carried: "
            f"the record was not included, or the server hides it from this token."
        )


class PaginationError(KantataError):
    """A list's pages do not add up, and the walk stopped rather than loop or lose records.

    Raised when a full page holds only records that earlier pages of the same walk already
    gave: the server (or a caching proxy) answers every page number with the same records.
    `page` is the page number that repeated.
    """

    def __init__(self, message: str, *, page: int) -> None:
        super().__init__(message)
        self.page = page


# ---------------------------------------------------------------------------
# HTTP errors


@dataclass(frozen=True)
class ErrorDetail:
    """One entry of Kantata's `{"errors": [...]}` body.

    `type` is `oauth`, `system` or `validation` in the documented cases; `field` is set on
    validation errors.
    """

    type: str
    message: str
    field: str | None = None

    def __str__(self) -> str:
        return f"{self.message} (field: {self.field})" if self.field else self.message


def parse_error_details(body: Any) -> list[ErrorDetail]:
    """The error list from a decoded body: `errors: [...]`, or the legacy `error_message`."""
    if not isinstance(body, dict):
        return []
    details = []
    errors = body.get("errors")
    if isinstance(errors, list):
        for e in errors:
            if isinstance(e, dict):
                details.append(
                    ErrorDetail(
                        type=str(e.get("type", "")),
                        message=str(e.get("message", "")),
                        field=str(e["field"]) if e.get("field") is not None else None,
                    )
                )
            else:
                details.append(ErrorDetail(type="", message=str(e)))
    message = body.get("error_message")
    if message is not None:
        details.append(ErrorDetail(type="", message=str(message)))
    return details


class APIError(KantataError):
    """A request failed. Carries the HTTP method and the path relative to the API root."""

    def __init__(self, message: str, *, method: str, path: str) -> None:
        super().__init__(message)
        self.method = method
        self.path = path


_NO_HEADERS: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict())


def _answered(message: str, headers: Mapping[str, str] | None) -> tuple[str, CIMultiDictProxy[str]]:
    """The message (with the request id quoted, when the server sent one) and the headers,
    case-insensitive and read-only."""
    if not headers:
        return message, _NO_HEADERS
    kept = CIMultiDictProxy(CIMultiDict(headers))
    request_id = kept.get("X-Request-Id")
    return (f"{message} [request id {request_id}]" if request_id else message), kept


class _Answer:
    """What an error made from an HTTP answer carries besides its message."""

    headers: CIMultiDictProxy[str]
    """The answer's headers (looked up in any case), with the token redacted."""

    @property
    def request_id(self) -> str | None:
        """The server's id for the request (`X-Request-Id`), to quote to Kantata support."""
        return self.headers.get("X-Request-Id")


class APIConnectionError(APIError):
    """No HTTP response arrived: the connection failed, dropped, or timed out.

    `request_sent` says whether the request may have reached the server. For a write, True
    means the server may have carried it out, and it was therefore not retried.
    """

    def __init__(self, message: str, *, method: str, path: str, request_sent: bool) -> None:
        if request_sent and method == "POST":
            message += " The request was sent, so the write may have happened; it was not retried."
        super().__init__(f"{method} {path}: {message}", method=method, path=path)
        self.request_sent = request_sent


class APITimeoutError(APIConnectionError):
    """The request timed out (see `KantataClient(timeout=...)`)."""


class RedirectError(APIConnectionError):
    """A GET's redirects could not be followed: too many of them (a loop), or a `Location`
    that is not an http(s) URL. `location` is the last target, without credentials.

    Not retried: the server would answer the same way again.
    """

    def __init__(
        self, message: str, *, method: str, path: str, location: str | None = None
    ) -> None:
        super().__init__(message, method=method, path=path, request_sent=True)
        self.location = location


class ResponseValidationError(_Answer, APIError):
    """A response arrived but its body is not the JSON this call expects."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status: int,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        message, self.headers = _answered(f"{status} {method} {path}: {message}", headers)
        super().__init__(message, method=method, path=path)
        self.status = status


class ResponseTooLargeError(ResponseValidationError):
    """The body grew past the client's `max_response_bytes` (after decompression) and was
    not read further. Not retried: the same request would bring the same body.
    """

    def __init__(self, *, method: str, path: str, status: int, limit: int) -> None:
        super().__init__(
            f"the body is larger than {limit:,} bytes (max_response_bytes); reading stopped",
            method=method,
            path=path,
            status=status,
        )
        self.limit = limit


class APIStatusError(_Answer, APIError):
    """The server answered with an error status. Subclasses exist per status.

    `str(err)` reads like `422 PUT users/7: Please give a name (field: full_name)`, followed
    by `[request id ...]` when the server sent one (`err.request_id`); `err.headers` holds
    the answer's headers.
    """

    status: int = 0

    def __init__(
        self,
        *,
        status: int,
        method: str,
        path: str,
        errors: list[ErrorDetail],
        body: str = "",
        reason: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if reason is None:
            reason = "; ".join(str(e) for e in errors) or (body[:200].strip() or "no details")
        message, self.headers = _answered(f"{status} {method} {path}: {reason}", headers)
        super().__init__(message, method=method, path=path)
        self.status = status
        self.errors = errors
        self.body = body


class UnexpectedRedirectError(APIStatusError):
    """The server answered with a redirect (3xx) that the SDK does not follow.

    Writes (POST, PUT, PATCH, DELETE) never follow a redirect: following would replay the
    write elsewhere, or turn it into a GET whose answer looks like success. The server may
    have carried the write out. A GET gets this for a 3xx without a `Location`, or a 300 or
    304. `location` is the redirect target without any credentials (None if absent).
    """

    def __init__(self, *, location: str | None, **kwargs: Any) -> None:
        where = f"redirected to {location}" if location else "redirected without a Location"
        if kwargs.get("method", "GET") == "GET":
            why = "a GET follows only 301, 302, 303, 307 and 308 with a Location"
        else:
            why = "writes never follow redirects; the server may have carried the write out"
        super().__init__(reason=f"{where} ({why})", **kwargs)
        self.location = location


class BadRequestError(APIStatusError):
    """400 Bad Request."""


class AuthenticationError(APIStatusError):
    """401: the token is missing, wrong, or revoked (Kantata tokens do not expire)."""


class PermissionDeniedError(APIStatusError):
    """403 Forbidden."""


class NotFoundError(APIStatusError):
    """404: no such record, or the endpoint's default filters hide it from this token."""


class UnprocessableEntityError(APIStatusError):
    """422: validation failed. `field_errors` maps each field to its messages."""

    @property
    def field_errors(self) -> dict[str, list[str]]:
        """Validation messages per field (errors without a field are under `""`)."""
        out: dict[str, list[str]] = {}
        for e in self.errors:
            out.setdefault(e.field or "", []).append(e.message)
        return out


class RateLimitError(APIStatusError):
    """429 Too Many Requests, after the retries ran out. `retry_after` in seconds, if sent."""

    def __init__(self, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.retry_after = retry_after


class ServiceUnavailableError(APIStatusError):
    """503 Service is unavailable, after the retries ran out."""


class ServerError(APIStatusError):
    """Any other 5xx answer."""


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def status_error_class(status: int) -> type[APIStatusError]:
    """The exception class for an HTTP error status."""
    cls = _STATUS_ERRORS.get(status)
    if cls is not None:
        return cls
    return ServerError if status >= 500 else APIStatusError
