"""How fast the client sends: the token's rate limit, learned from 429s. Pure, tested by table.

Kantata answers 429 past a rate limit it does not publish, with no `Retry-After` and no
rate-limit header: the 429 itself is the only signal. `AdaptiveRate` learns the limit from it,
AIMD-style, for the whole client:

- Until the first 429 nothing is paced: `max_concurrency` requests in flight is the only
  bound, as without adaptivity.
- **Decrease.** The first 429 sets a rate from the burst before it, whichever is less of:
  `first_backoff` (a quarter) of the rate the server let requests through (over the last
  second, up to the refused one: that counts the server's own burst, which a client at full
  speed spends at once); and the rate the client was sending at, less one request per round
  trip for each request of that burst the server refused, since what it let through while
  refusing is its rate (each refusal takes at most half, and at least `first_backoff` of the
  sending rate remains). A later 429 sets nine tenths of the rate the server let requests
  through since the 429 before (its bucket was empty at both), when the rate held every
  request back in between (else the server may have had tokens to spare): at most
  `backoff` (0.8) times the rate, at least half of it. 429s answering requests sent before a
  decrease are the same signal and do not lower it again (they arrive together).
- **No client-wide pause.** A 429 does not pause the whole client, as it does without
  adaptivity (`on_response` says which): the rate it set is what holds the others back.
  Pacing starts one interval after it, and a request waiting for a moment paced at the old
  rate takes a new one (`decreases` counts them). The refused request waits its own retry
  delay. (A `Retry-After`, which Kantata does not send, and a 503 still pause the client.)
- **Additive increase.** While the rate is what holds requests back, it grows linearly, by
  `growth` times the rate set by the last 429, per second of answered requests: back above
  the rate of that 429 within a few seconds, probing slowly. Idle time and pauses do not
  count. A rate the ceiling would hold back anyway (more than `max_concurrency` requests per
  round trip) is dropped, and so is one that no 429 has confirmed for `forget_after`
  seconds (a minute): a long-lived client (a web backend) is not held for good to what one
  incident taught it. No pacing until the next 429.
- **Pacing with jitter.** Under a rate, requests go out one every `1 / rate` seconds, each
  interval drawn from `1 - jitter` to `1 + jitter` times that, so the client sends steadily
  instead of in bursts. After a pause (a 503, or a 429 with `Retry-After` or without
  adaptivity, for its retry delay) the requests it held go out paced too; without a rate,
  spread over a round trip rather than in one millisecond.

The limit is learned as a rate, not as a number of requests in flight, because it is a rate:
how long a request takes depends on what it asks for (a page of users with every include
against ten roles), so a concurrency limit would send faster or slower as the mix changes.
For the same reason latency is not used as a signal of the limit.

Pure: no I/O, no asyncio; the time comes from `clock` and the jitter from `rand`, so that the
tests drive it with a fake clock.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable

__all__ = ["AdaptiveRate"]

# Weight of a new sample in the smoothed round trip (TCP's SRTT gain).
_RTT_GAIN = 0.125
# The send rate behind the first decrease is measured over this many seconds.
_SEND_WINDOW = 1.0
# Send moments kept to count those after a refused request (many more than in flight).
_RECENT = 256
# A later decrease sets this share of the rate the server let requests through since the one
# before: a little under it, so that pacing jitter does not run the server's bucket dry.
_MEASURED_SHARE = 0.9
# A round trip shorter than this (a fake clock, a loopback server) counts as this.
_MIN_RTT = 0.001


class AdaptiveRate:
    """The client's sending rate under a rate limit: None (not limited) or requests/second.

    The transport calls `send_at()` before a request goes out (and waits until then),
    `on_response(...)` when an answer arrives, and `pause(seconds)` when every request must
    wait (a 503, or a 429 the rate does not take care of: see `on_response`). `adaptive=False`
    never sets a rate; pauses still apply, and the requests a pause held are still released
    spread out.
    """

    __slots__ = (
        "_anchor",
        "_burst_base",
        "_burst_cap",
        "_burst_rate",
        "_held",
        "_last_answer",
        "_last_decrease",
        "_next_send",
        "_paced",
        "_passed",
        "_recent",
        "_refused_since",
        "_sends",
        "_sent_since",
        "_slope",
        "_spread_until",
        "adaptive",
        "backoff",
        "ceiling",
        "clock",
        "decreases",
        "first_backoff",
        "floor",
        "forget_after",
        "growth",
        "jitter",
        "paused_until",
        "rand",
        "rate",
        "rtt",
    )

    def __init__(
        self,
        ceiling: int,
        *,
        adaptive: bool = True,
        floor: float = 0.2,
        first_backoff: float = 0.25,
        backoff: float = 0.8,
        growth: float = 0.1,
        jitter: float = 0.5,
        forget_after: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if isinstance(ceiling, bool) or not isinstance(ceiling, int) or ceiling < 1:
            raise ValueError(f"ceiling must be an int >= 1, got {ceiling!r}")
        if not 0 < floor < math.inf:
            raise ValueError(f"floor must be a positive number of requests/s, got {floor!r}")
        if not (0 < first_backoff < 1 and 0 < backoff < 1):
            raise ValueError(f"backoffs must be between 0 and 1, got {first_backoff}, {backoff}")
        if not 0 < growth < math.inf:
            raise ValueError(f"growth must be > 0, got {growth!r}")
        if not 0 <= jitter < 1:
            raise ValueError(f"jitter must be from 0 to below 1, got {jitter!r}")
        if not forget_after > 0:
            raise ValueError(f"forget_after must be > 0 seconds, got {forget_after!r}")
        self.ceiling = ceiling
        """At most this many requests in flight (`max_concurrency`)."""
        self.adaptive = adaptive
        self.floor = float(floor)
        self.first_backoff = first_backoff
        self.backoff = backoff
        self.growth = growth
        self.jitter = jitter
        self.forget_after = forget_after
        self.clock = clock
        self.rand = rand
        self.rate: float | None = None
        """Requests per second the client sends at most; None until a 429 calls for one."""
        self.rtt: float | None = None
        """The smoothed round trip in seconds; None before the first answer."""
        self.paused_until = -math.inf
        self.decreases = 0
        """How many times a 429 set or lowered the rate: a moment `send_at()` gave before the
        last one is stale (the caller takes a new one when it comes)."""
        self._slope = 0.0
        self._next_send = -math.inf
        self._spread_until = -math.inf
        self._last_answer: float | None = None
        self._last_decrease = -math.inf
        self._paced = False  # the last request sent had to wait for its paced moment
        # Before a rate: when requests were sent, and when those answered OK were sent.
        self._sends: deque[float] = deque()
        self._passed: deque[float] = deque()
        # The first 429's burst, until an answer to a request sent after it arrives: its
        # sending rate, lowered by each refusal of it, and at most `_burst_cap`.
        self._burst_rate: float | None = None
        self._burst_base = 0.0
        self._burst_cap = math.inf
        # Since the request whose 429 made the last decrease was sent (`_anchor`), when the
        # server's bucket was empty: requests sent, refused, and whether the rate held every
        # one back (then what the server let through measures its rate).
        self._anchor: float | None = None
        self._sent_since = 0
        self._refused_since = 0
        self._held = True
        self._recent: deque[float] = deque(maxlen=_RECENT)

    def __repr__(self) -> str:
        rate = "not limited" if self.rate is None else f"{self.rate:.2f} requests/s"
        rtt = "unknown" if self.rtt is None else f"{self.rtt * 1e3:.1f} ms"
        return f"<AdaptiveRate {rate}, round trip {rtt}, at most {self.ceiling} in flight>"

    def pause_left(self) -> float:
        """Seconds until the current pause ends (0 when there is none)."""
        return max(0.0, self.paused_until - self.clock())

    def pause(self, seconds: float) -> None:
        """Hold every request for `seconds` from now (a pause that lasts longer is kept)."""
        self.paused_until = max(self.paused_until, self.clock() + seconds)
        self._next_send = max(self._next_send, self.paused_until)
        self._spread_until = self.paused_until + (self.rtt or 0.0)

    def send_at(self) -> float:
        """Reserve the moment (on `clock`) the caller's request may go out: now, or later
        while requests are paced. Each call takes the next paced moment."""
        now = self.clock()
        if self.rate is not None and now - self._last_decrease > self.forget_after:
            self.rate = None
            self._anchor = None
        if self.adaptive and self.rate is None:
            _window(self._sends, now, now)
        if self.rate is not None:
            interval = 1.0 / self.rate
        elif now < self._spread_until and self.rtt is not None:
            interval = self.rtt / self.ceiling
        else:
            at = now
            interval = None
        if interval is not None:
            at = max(now, self._next_send)
            self._next_send = at + interval * (1.0 - self.jitter + 2.0 * self.jitter * self.rand())
        self._paced = at > now
        if self.adaptive:
            self._recent.append(at)
            if self._anchor is not None:
                self._sent_since += 1
                if not self._paced and self.rate is not None:
                    self._held = False
        return at

    def sending_rate(self) -> float | None:
        """Requests per second sent over the last second (before any rate was set)."""
        return _per_second(self._sends, len(self._sends) - 1)

    def let_through(self, before: float) -> float | None:
        """Requests per second the server answered OK, of those sent over the last second
        before `before` (before any rate was set)."""
        passed = [at for at in self._passed if at < before]
        if len(passed) < 2 or before <= passed[0]:
            return None
        return len(passed) / (before - passed[0])

    def on_response(self, *, sent_at: float, throttled: bool) -> bool:
        """Learn from the answer to a request sent at `sent_at` (on `clock`); `throttled`:
        it was a 429.

        Returns True when a 429 should pause the whole client for its retry delay: only
        without adaptivity. With it, the rate the 429 set or lowered is what holds the
        other requests back (they go out paced at it from now on); only the refused request
        waits its retry delay."""
        now = self.clock()
        sample = max(0.0, now - sent_at)
        rtt = self.rtt = sample if self.rtt is None else self.rtt + _RTT_GAIN * (sample - self.rtt)
        busy = 0.0 if self._last_answer is None else min(now - self._last_answer, rtt)
        self._last_answer = now
        if not self.adaptive:
            return throttled
        rate = self.rate
        if not throttled:
            if rate is None:
                _window(self._passed, sent_at, now)
            if sent_at >= self._last_decrease:
                self._burst_rate = None  # the burst behind the first 429 has been answered
            if rate is not None and self._paced:
                rate += self._slope * busy
                # Faster than the ceiling lets requests go: the rate holds nothing back.
                self.rate = None if rate * rtt > self.ceiling else rate
            return False
        if sent_at < self._last_decrease:  # sent before the last decrease: the same signal
            if self._anchor is not None and sent_at > self._anchor:
                self._refused_since += 1
            if self._burst_rate is not None:
                self._refused_in_burst(rtt)
            return False
        self._last_decrease = now
        self.decreases += 1
        if rate is None:
            measured = self.sending_rate()
            # Without two sends to measure, the most the ceiling lets through.
            self._burst_rate = self._burst_base = measured or self.ceiling / max(rtt, _MIN_RTT)
            let_through = self.let_through(sent_at)
            self._burst_cap = math.inf if let_through is None else let_through * self.first_backoff
            self._sends.clear()
            self._passed.clear()
            self._refused_in_burst(rtt)
        else:
            self._burst_rate = None
            lowered = rate * self.backoff
            measured = self._measured(sent_at)
            if measured is not None:
                lowered = max(rate / 2, min(lowered, measured * _MEASURED_SHARE))
            self._set(lowered)
        self._anchor = sent_at
        self._sent_since = sum(1 for at in self._recent if at > sent_at)
        self._refused_since = 0
        self._held = True
        # Pacing starts one interval from now, when the server has let one more through; a
        # moment given out before is stale (`decreases` tells the waiting requests).
        assert self.rate is not None
        self._next_send = max(self.paused_until, now + 1.0 / self.rate)
        return False

    def _measured(self, refused_at: float) -> float | None:
        """The rate the server let requests through between the 429 of the last decrease and
        this one (sent at `refused_at`), if the rate held every request back in between."""
        anchor = self._anchor
        if anchor is None or not self._held or not self._sent_since or refused_at <= anchor:
            return None
        after = sum(1 for at in self._recent if at >= refused_at)
        if after >= len(self._recent):  # more sent since than remembered: no count
            return None
        passed = self._sent_since - after - self._refused_since
        return max(0, passed) / (refused_at - anchor)

    def _refused_in_burst(self, rtt: float) -> None:
        # A burst sent at `rate` had `rate * rtt` requests in flight per round trip: each one
        # refused is one request per round trip more than the server lets through.
        rate = self._burst_rate
        assert rate is not None
        lowered = max(
            rate / 2, rate - 1 / max(rtt, _MIN_RTT), self._burst_base * self.first_backoff
        )
        self._burst_rate = lowered
        self._set(min(self._burst_cap, lowered))

    def _set(self, rate: float) -> None:
        self.rate = max(self.floor, rate)
        self._slope = self.growth * self.rate


def _window(times: deque[float], at: float, now: float) -> None:
    """Append `at` to `times` and drop what is older than `_SEND_WINDOW` before `now`."""
    times.append(at)
    while now - times[0] > _SEND_WINDOW:
        times.popleft()


def _per_second(times: deque[float], count: int) -> float | None:
    if len(times) < 2 or times[-1] <= times[0]:
        return None
    return count / (times[-1] - times[0])
