"""The adaptive rate against a token bucket, simulated on a fake clock: it converges below the
limit with few refusals, where a client without adaptivity is refused again and again."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable

from test_rate import Clock

from kantata_async._rate import AdaptiveRate
from kantata_async.testing._ratelimit import TokenBucket


def simulate(
    make: Callable[[Clock], AdaptiveRate], *, seconds: float, rate: float, burst: int
) -> tuple[int, int, int]:
    """A client sending as fast as it is let (8 in flight, 30 ms round trips) against a token
    bucket, as the transport does: a refused request waits 0.375 s (the retry policy's mean
    first delay), and the whole client with it when `on_response` says so; a moment paced
    before a decrease is taken again. Returns (requests, 429s, successes in the second half)."""
    clock = Clock()
    control = make(clock)
    bucket = TokenBucket(rate, burst, 0.0)
    events: list[tuple[float, int, str, float]] = []
    order = 0

    def at(when: float, kind: str, sent: float = 0.0) -> None:
        nonlocal order
        order += 1
        heapq.heappush(events, (when, order, kind, sent))

    for _ in range(8):
        at(0.0, "ready")
    requests = refused = late = 0
    while events:
        clock.now, _, kind, paced_at = heapq.heappop(events)
        if clock.now > seconds:
            break
        if kind == "ready":  # a slot is free: wait out the pause, then the paced moment
            if control.pause_left() > 0:
                at(control.paused_until, "ready")
                continue
            at(control.send_at(), "send", control.decreases)
        elif kind == "send":
            if control.pause_left() > 0 or paced_at != control.decreases:
                at(clock.now, "ready")  # paused, or paced at a rate since lowered
                continue
            requests += 1
            ok = bucket.take(clock.now)
            at(clock.now + 0.03, "ok" if ok else "429", clock.now)
        else:
            pause_all = control.on_response(sent_at=paced_at, throttled=kind == "429")
            if kind == "429":
                refused += 1
                if pause_all:
                    control.pause(0.375)
                at(clock.now + 0.375, "ready")
                continue
            if clock.now > seconds / 2:
                late += 1
            at(clock.now, "ready")
    return requests, refused, late


def test_against_a_token_bucket_the_rate_converges_below_the_limit() -> None:
    requests, refused, late = simulate(
        lambda clock: AdaptiveRate(8, clock=clock, rand=random.Random(1).random),
        seconds=60.0,
        rate=50.0,
        burst=10,
    )
    # The second half of a minute runs at 80 % of the limit or more, and few requests are
    # refused overall: a wave at the start, then one now and then as the rate probes.
    assert 0.8 * 50 * 30 <= late <= 50 * 30 + 10
    assert refused / requests < 0.02


def test_without_adaptivity_the_same_client_is_refused_again_and_again() -> None:
    requests, refused, late = simulate(
        lambda clock: AdaptiveRate(8, adaptive=False, clock=clock), seconds=60.0, rate=50, burst=10
    )
    assert refused / requests > 0.2  # the contrast the test above is about
    assert late < 0.8 * 50 * 30
