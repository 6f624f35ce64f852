"""When to retry a request, and after how long: a pure policy, tested by table.

The transport asks `RetryPolicy.delay(...)` after every failed attempt. It answers with the
seconds to wait, or None to give up and raise. No I/O, no clock except what is passed in.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum

import attrs

__all__ = ["Failure", "RetryPolicy", "parse_retry_after"]

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class Failure(Enum):
    """How an attempt failed when no HTTP status came back."""

    CONNECT = "connect"
    """The connection could not be made: the request never left."""
    SENT = "sent"
    """The connection broke after the request went out (reset, dropped, truncated body)."""
    TIMEOUT = "timeout"
    """No complete answer in time; the request may have been processed."""


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date.

    None when the header is missing or unreadable; never negative.
    """
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """Retries with exponential backoff and jitter, honouring `Retry-After`.

    - GET, PUT and DELETE (idempotent) retry on `retry_statuses`, on connection errors and
      on timeouts.
    - POST retries only when the connection failed before the request was sent, so a write
      is never made twice.
    - The n-th retry waits `Retry-After` when the server sent it, else a random time between
      half and all of `min(backoff_max, backoff_base * 2**n)`.
    - A `Retry-After` beyond `max_retry_after` is not waited for: the error is raised.
    - `time_scale` multiplies every wait, `Retry-After` included, after the decision: tests
      that inject faults take the same decisions without the waiting with
      `RetryPolicy(time_scale=0)` (or `RetryPolicy.instant()`).
    """

    max_retries: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_retry_after: float = 300.0
    retry_statuses: frozenset[int] = frozenset({429, 502, 503, 504})
    time_scale: float = 1.0

    @classmethod
    def instant(cls, max_retries: int = 4) -> RetryPolicy:
        """The default decisions, with no waiting: for tests against a fake with faults.

        async with KantataClient(fake.token, base_url=fake.base_url,
                                 retry=RetryPolicy.instant()) as client: ...
        """
        return cls(max_retries=max_retries, time_scale=0.0)

    def __attrs_post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.backoff_base < 0 or self.backoff_max < 0:
            raise ValueError("backoff_base and backoff_max must be >= 0")
        if not self.time_scale >= 0:
            raise ValueError(f"time_scale must be >= 0, got {self.time_scale}")

    def delay(
        self,
        *,
        method: str,
        retries_done: int,
        status: int | None = None,
        failure: Failure | None = None,
        retry_after: float | None = None,
        rand: Callable[[], float] = random.random,
    ) -> float | None:
        """Seconds to wait before the next attempt, or None to give up.

        Exactly one of `status` (an HTTP error status came back) and `failure` (no status
        came back) describes the failed attempt.
        """
        if retries_done >= self.max_retries:
            return None
        idempotent = method.upper() in IDEMPOTENT
        if status is not None:
            if status not in self.retry_statuses or not idempotent:
                return None
        elif failure is None or (failure is not Failure.CONNECT and not idempotent):
            return None
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            return retry_after * self.time_scale
        ceiling = min(self.backoff_max, self.backoff_base * 2.0**retries_done)
        return (ceiling / 2 + rand() * ceiling / 2) * self.time_scale
