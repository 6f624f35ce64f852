"""How long a request may take, and the settings each call is sent with.

`Timeout` is public: `KantataClient(timeout=Timeout(30, connect=5, read=20))`. `Options` is
what a client (or a `with_options` view, or one call) sends its requests with; the transport
reads it on every attempt.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import aiohttp
import attrs

from ._retry import RetryPolicy

__all__ = [
    "DEFAULT_TIMEOUT",
    "Options",
    "Timeout",
    "check_header_value",
    "check_max_retries",
    "options_with",
]

# Headers the SDK owns: the token, what it asks for (JSON), and the framing of the bodies
# it encodes and of the connection.
_OWN_HEADERS = frozenset(
    {
        "accept",
        "authorization",
        "connection",
        "content-length",
        "content-type",
        "host",
        "transfer-encoding",
    }
)
# Query parameters the SDK sets itself on some request of a call (a page, a nested level):
# given as extras they would clash there, after requests went out, so they are refused first.
_OWN_QUERY = frozenset(
    {"apply_default_filters", "include", "only", "optional_fields", "order", "page", "per_page"}
)
# A header name (RFC 9110 `token`).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def _is_seconds(value: Any) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and value > 0
    )


def _seconds(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not _is_seconds(value):
        raise ValueError(
            f"Timeout.{attribute.name} must be > 0 seconds (finite), or None for no limit, "
            f"got {value!r}"
        )


@attrs.frozen
class Timeout:
    """How long a request may take, by phase (like httpx's `Timeout`).

    - `total`: the whole request, from sending to the last byte of the answer, each attempt
      (retries get their own). Kantata ends a request after 3 minutes itself.
    - `connect`: opening a connection (TCP and TLS).
    - `read`: the longest silence while reading the answer.

    None means no limit for that phase. For a web backend, fail fast and let the caller
    retry: `Timeout(30, connect=5, read=20)`. For bulk exports keep the default total,
    which waits a little longer than Kantata does.

        client = KantataClient(token, timeout=Timeout(30, connect=5, read=20))
    """

    total: float | None = attrs.field(default=185.0, validator=_seconds)
    connect: float | None = attrs.field(default=None, kw_only=True, validator=_seconds)
    read: float | None = attrs.field(default=None, kw_only=True, validator=_seconds)

    @classmethod
    def of(cls, value: Timeout | float) -> Timeout:
        """`value` as a `Timeout`: a number is the total."""
        if isinstance(value, Timeout):
            return value
        if not _is_seconds(value):
            raise ValueError(f"timeout must be > 0 seconds (finite) or a Timeout, got {value!r}")
        return cls(value)

    def __str__(self) -> str:
        phases = [("total", self.total), ("connect", self.connect), ("read", self.read)]
        return ", ".join(f"{name} {value} s" for name, value in phases if value is not None)


DEFAULT_TIMEOUT = Timeout()


def check_header_value(name: str, value: str) -> None:
    """ValueError for what no HTTP header can carry: control characters (C0, DEL, C1) and
    lone surrogates (not encodable). Only the character is named, never the value."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a str, got {type(value).__name__}")
    for position, char in enumerate(value):
        code = ord(char)
        if code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF:
            raise ValueError(
                f"{name} must not contain control characters or lone surrogates (found "
                f"U+{code:04X} at position {position})"
            )


@attrs.frozen(cache_hash=True)
class Options:
    """What requests are sent with. Hashable: reads share a request only with equal options."""

    timeout: Timeout = DEFAULT_TIMEOUT
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    headers: tuple[tuple[str, str], ...] = ()  # extra headers, checked
    query: tuple[tuple[str, str], ...] = ()  # extra query parameters, checked
    client_timeout: aiohttp.ClientTimeout = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )

    def __attrs_post_init__(self) -> None:
        t = self.timeout
        timeout = aiohttp.ClientTimeout(total=t.total, sock_connect=t.connect, sock_read=t.read)
        object.__setattr__(self, "client_timeout", timeout)

    def params(self, params: Mapping[str, str] | None) -> Mapping[str, str] | None:
        """`params` with the extra query added; ValueError where one would replace the call's."""
        if not self.query:
            return params
        merged = dict(params or {})
        for key, value in self.query:
            if key in merged:
                raise ValueError(
                    f"extra_query sets {key!r}, which this call sets itself: pass it as the "
                    "method's argument instead"
                )
            merged[key] = value
        return merged


def check_max_retries(value: Any) -> int:
    """`value` if it is an int >= 0, else ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"max_retries must be an int >= 0, got {value!r}")
    return value


def _pairs(given: Mapping[str, str] | None, what: str) -> tuple[tuple[str, str], ...]:
    if given is None:
        return ()
    if not isinstance(given, Mapping):
        raise ValueError(f"{what} must be a mapping of str to str, got {type(given).__name__}")
    pairs, seen = [], set()
    headers = what == "extra_headers"
    for key, value in given.items():
        if not isinstance(key, str) or not key or not isinstance(value, str):
            raise ValueError(f"{what} must map non-empty str to str, got {key!r}: {value!r}")
        check_header_value(f"{what}[{key!r}]", value)
        name = key.lower() if headers else key
        if headers and not _TOKEN.fullmatch(key):
            raise ValueError(f"extra_headers: {key!r} is not a header name")
        if name in (_OWN_HEADERS if headers else _OWN_QUERY):
            raise ValueError(
                f"extra_headers cannot set {key!r}: the client sets the token, what it accepts "
                "and the framing of bodies itself"
                if headers
                else f"extra_query cannot set {key!r}: the client sets it itself on some "
                "requests; pass it as the method's argument instead"
            )
        if name in seen:
            twice = " (header names ignore case)" if headers else ""
            raise ValueError(f"{what} gives {key!r} twice{twice}")
        seen.add(name)
        pairs.append((key, value))
    return tuple(sorted(pairs))


def options_with(
    options: Options,
    *,
    timeout: Timeout | float | None = None,
    max_retries: int | None = None,
    extra_headers: Mapping[str, str] | None = None,
    extra_query: Mapping[str, str] | None = None,
) -> Options:
    """`options` with what is given changed (extra headers and query are added to its own)."""
    retry = options.retry
    if max_retries is not None:
        retry = attrs.evolve(retry, max_retries=check_max_retries(max_retries))
    changed = Options(
        timeout=options.timeout if timeout is None else Timeout.of(timeout),
        retry=retry,
        headers=_merged(options.headers, _pairs(extra_headers, "extra_headers"), str.lower),
        query=_merged(options.query, _pairs(extra_query, "extra_query"), str),
    )
    return options if changed == options else changed


def _merged(
    old: tuple[tuple[str, str], ...], new: tuple[tuple[str, str], ...], fold: Any
) -> tuple[tuple[str, str], ...]:
    """`old` with `new` added; a name given again (compared after `fold`) takes the new value."""
    if not new:
        return old
    by_name = {fold(name): (name, value) for name, value in (*old, *new)}
    return tuple(sorted(by_name.values()))
