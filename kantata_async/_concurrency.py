"""How many requests the client may have in flight, and when the next one may go out.

Kantata answers 429 past a rate limit it does not publish, with no `Retry-After` and no
rate-limit header: the only signal is the 429 itself. `ConcurrencyLimit` learns the limit
from it, AIMD-style, for the whole client:

- **Multiplicative decrease**: every 429 multiplies the limit by `backoff`. Each one counts,
  not one per burst: how many of the requests in flight were refused says how far over the
  limit the client was (7 refused out of 8 cut the limit to about one in flight).
- **Additive increase**: while requests succeed and the limit is in use, it grows linearly in
  time, by `growth` times the limit it had before the last 429 per second of answered
  requests (at least `growth` a second), up to the ceiling: back to that level in about a
  second, then probing slowly above it. Time without answers (a pause, an idle client) does
  not count, so the probe rate is the same however fast requests go.
- **Pacing**: below the ceiling, the limit is a number of requests per round trip, and it
  may be fractional (0.4: one request every 2.5 round trips). Requests go out one every
  `rtt / limit` seconds (the smoothed round trip), each interval drawn with `jitter`, so the
  client sends at the rate the token allows instead of in bursts. After a pause (a 429 or a
  503) the requests held by it are released the same way, spread over a round trip, not all
  in the same millisecond.

Latency is not used as a signal: the time a request takes depends on what it asks for (a page
of users with every include against ten roles) far more than on the server's load.

Pure: no I/O, no asyncio; the time comes from `clock` and the jitter from `rand`, so that the
tests drive it with a fake clock.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

__all__ = ["ConcurrencyLimit"]

# Weight of a new round-trip sample in the smoothed round trip (TCP's SRTT gain).
_RTT_GAIN = 0.125


class ConcurrencyLimit:
    """The client-wide limit: `slots` in flight at most, paced by `send_at`.

    `adaptive=False` holds the limit at `ceiling` (429s still pause the client, and the
    requests a pause held are still released spread out).

    The transport calls `send_at()` before each request goes out (and waits until then),
    `on_response(...)` when an answer arrives, and `pause(seconds)` when every request must
    wait (a 429 or 503 with its retry delay).
    """

    __slots__ = (
        "_last_answer",
        "_next_send",
        "_slope",
        "_spread_until",
        "adaptive",
        "backoff",
        "ceiling",
        "clock",
        "floor",
        "growth",
        "jitter",
        "limit",
        "paused_until",
        "rand",
        "rtt",
    )

    def __init__(
        self,
        ceiling: int,
        *,
        adaptive: bool = True,
        floor: float = 0.1,
        backoff: float = 0.75,
        growth: float = 0.2,
        jitter: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if isinstance(ceiling, bool) or not isinstance(ceiling, int) or ceiling < 1:
            raise ValueError(f"ceiling must be an int >= 1, got {ceiling!r}")
        if not 0 < floor <= ceiling:
            raise ValueError(f"floor must be > 0 and at most the ceiling, got {floor!r}")
        if not 0 < backoff < 1:
            raise ValueError(f"backoff must be between 0 and 1, got {backoff!r}")
        if not growth > 0:
            raise ValueError(f"growth must be > 0, got {growth!r}")
        if not 0 <= jitter < 1:
            raise ValueError(f"jitter must be from 0 to below 1, got {jitter!r}")
        self.ceiling = ceiling
        self.adaptive = adaptive
        self.floor = float(floor)
        self.backoff = backoff
        self.growth = growth
        self.jitter = jitter
        self.clock = clock
        self.rand = rand
        self.limit = float(ceiling)
        """Requests per round trip; below the ceiling only after a 429."""
        self.rtt: float | None = None
        """The smoothed round trip in seconds, None before the first answer."""
        self.paused_until = -math.inf
        self._slope = 0.0
        self._next_send = -math.inf
        self._spread_until = -math.inf
        self._last_answer: float | None = None

    def __repr__(self) -> str:
        rtt = "None" if self.rtt is None else f"{self.rtt * 1e3:.1f} ms"
        return (
            f"<ConcurrencyLimit {self.limit:.2f} of {self.ceiling}, rtt {rtt}, "
            f"{'adaptive' if self.adaptive else 'fixed'}>"
        )

    @property
    def slots(self) -> int:
        """How many requests may be in flight now: the limit rounded up, 1 to the ceiling."""
        return min(self.ceiling, max(1, math.ceil(self.limit)))

    def pause_left(self) -> float:
        """Seconds until the current pause ends (0 when there is none)."""
        return max(0.0, self.paused_until - self.clock())

    def pause(self, seconds: float) -> None:
        """Hold every request for `seconds` from now (a pause already longer is kept)."""
        self.paused_until = max(self.paused_until, self.clock() + seconds)
        self._next_send = max(self._next_send, self.paused_until)
        # The requests the pause holds are released paced, over about one round trip.
        self._spread_until = self.paused_until + (self.rtt or 0.0)

    def send_at(self) -> float:
        """Reserve the moment (on `clock`) the caller's request may go out: now, or later
        while requests are paced. Each call takes the next paced moment."""
        now = self.clock()
        if self.rtt is None or (self.limit >= self.ceiling and now >= self._spread_until):
            return now
        at = max(now, self._next_send)
        interval = self.rtt / self.limit
        self._next_send = at + interval * (1.0 - self.jitter + 2.0 * self.jitter * self.rand())
        return at

    def on_response(self, *, sent_at: float, throttled: bool, in_flight: int) -> None:
        """Learn from an answer to a request sent at `sent_at` (on `clock`).

        `throttled`: the answer was a 429. `in_flight`: requests in flight when it arrived,
        itself included (the limit only grows while it is in use: at least half of it).
        """
        now = self.clock()
        sample = max(0.0, now - sent_at)
        rtt = self.rtt = sample if self.rtt is None else self.rtt + _RTT_GAIN * (sample - self.rtt)
        busy = 0.0 if self._last_answer is None else min(now - self._last_answer, rtt)
        self._last_answer = now
        if not self.adaptive:
            return
        if throttled:
            self._slope = self.growth * max(1.0, self.limit)
            self.limit = max(self.floor, self.limit * self.backoff)
        elif self.limit < self.ceiling and in_flight * 2 >= self.limit:
            self.limit = min(float(self.ceiling), self.limit + self._slope * max(0.0, busy))
