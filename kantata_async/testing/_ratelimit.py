"""The fake server's rate limiter: a token bucket answering 429 past it, as Kantata does.

Kantata answers 429 "when too many requests are made in a short amount of time", with the
API's error body and no `Retry-After` or rate-limit header, and does not publish its numbers.
`FakeKantata.rate_limit(rate, burst=...)` puts a token bucket in front of the fake so that a
client (yours or ours) can be tested against a limit it has to discover.
"""

from __future__ import annotations

import asyncio
import math
import time

from ._faults import Script

__all__ = ["RateLimitKnob", "TokenBucket"]


class TokenBucket:
    """`rate` tokens a second, holding at most `burst`; each request takes one. Pure: the
    caller passes the time (seconds on any monotonic clock).

    It starts full, so the first `burst` requests pass at once; after that, one request
    every `1 / rate` seconds.
    """

    def __init__(self, rate: float, burst: int, now: float) -> None:
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate < math.inf:
            raise ValueError(f"rate must be a positive number of requests per second, got {rate!r}")
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ValueError(f"burst must be an int >= 1, got {burst!r}")
        self.rate = float(rate)
        self.burst = burst
        self._tokens = float(burst)
        self._at = now

    def take(self, now: float) -> bool:
        """Take a token for a request arriving at `now`; False when the bucket is empty."""
        # A clock read earlier by another request may be behind `_at`: never refill backwards.
        elapsed = max(0.0, now - self._at)
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
        self._at = max(self._at, now)
        # A whole token, give or take the rounding of float seconds times a rate.
        if self._tokens >= 1.0 - 1e-9:
            self._tokens = max(0.0, self._tokens - 1.0)
            return True
        return False


class RateLimitKnob:
    """`FakeKantata.rate_limit`: the fake's token bucket (kept apart from the server's routing)."""

    _bucket: TokenBucket | None = None

    def rate_limit(self, rate: float | None, burst: int | None = None) -> None:
        """Answer 429 to requests beyond `rate` a second (after a burst of `burst`); None: off.

        A token bucket in front of the whole API: it starts full with `burst` tokens (default:
        one second's worth, at least 1), refills at `rate` tokens a second, and every request
        takes one as it arrives. A request that finds it empty gets what Kantata sends: 429
        with the API's error body and no `Retry-After` or rate-limit header, after the
        configured `latency`. Scripted and random faults apply only to requests the bucket
        let through; a 429 is recorded in `requests` with `status=429`. Calling it again
        starts a new, full bucket.

            fake.rate_limit(50, burst=10)    # 50 requests a second, 10 at once
            fake.rate_limit(None)            # no limit (the default)
        """
        if rate is None:
            if burst is not None:
                raise ValueError("burst needs a rate")
            self._bucket = None
            return
        if burst is None and isinstance(rate, int | float) and 1 <= rate < math.inf:
            burst = math.floor(rate)
        self._bucket = TokenBucket(rate, 1 if burst is None else burst, _now())

    def _rate_limited(self, now: float) -> Script | None:
        """The 429 for a request arriving at `now` (loop time) past the limit, else None."""
        if self._bucket is None or self._bucket.take(now):
            return None
        return Script("fail", 1, status=429)


def _now() -> float:
    # The server stamps arrivals with the event loop's clock; outside a loop (a knob set
    # before the server starts), the same monotonic clock the default loop uses.
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()
