"""The adaptive rate is a pure controller: driven here by a fake clock and a fixed random source."""

from __future__ import annotations

import itertools
import random

import pytest

from kantata_async._rate import AdaptiveRate

RTT = 0.05


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def controller(clock: Clock, rand: float = 0.5, **kwargs: float) -> AdaptiveRate:
    return AdaptiveRate(8, clock=clock, rand=lambda: rand, **kwargs)  # type: ignore[arg-type]


def answer(rate: AdaptiveRate, clock: Clock, sent_at: float, *, throttled: bool = False) -> None:
    """The answer to a request sent at `sent_at`, arriving one round trip later."""
    clock.now = sent_at + RTT
    rate.on_response(sent_at=sent_at, throttled=throttled)


def burst(rate: AdaptiveRate, clock: Clock, sends: int, every: float) -> list[float]:
    """Send `sends` requests, one every `every` seconds, unpaced; return their send times."""
    times = []
    for n in range(sends):
        clock.now = n * every
        assert rate.send_at() == clock.now  # nothing is paced before the first 429
        times.append(clock.now)
    return times


def limited(rate_per_second: float, clock: Clock, **kwargs: float) -> AdaptiveRate:
    """A controller whose first 429 set `rate_per_second` (a 40/s burst, refused once)."""
    rate = controller(clock, first_backoff=0.01, **kwargs)
    sent = burst(rate, clock, 5, 0.025)
    answer(rate, clock, sent[-1], throttled=True)
    rate.rate = rate_per_second  # the rest of the test starts from a known rate
    rate._slope = rate.growth * rate_per_second
    rate._next_send = clock.now + 1 / rate_per_second  # ... paced from one interval on
    return rate


def test_nothing_is_paced_before_a_429() -> None:
    clock = Clock()
    rate = controller(clock)
    sent = burst(rate, clock, 20, 0.001)
    for at in sent:
        answer(rate, clock, at)
    assert rate.rate is None
    assert rate.rtt == pytest.approx(RTT)
    assert rate.send_at() == clock.now


@pytest.mark.parametrize(
    ("refused", "expected"),
    [
        # 11 requests sent at 250 a second, all before the first answer (a round trip of
        # 50 ms). Each refusal of that burst takes one request per round trip (20/s) off...
        (1, 230.0),
        (2, 210.0),
        (9, 70.0),
        # ... but the first rate is at least a quarter of the sending rate.
        (10, 62.5),
        (11, 62.5),
    ],
)
def test_the_first_429s_set_a_rate_from_the_burst(refused: int, expected: float) -> None:
    clock = Clock()
    rate = controller(clock)
    sent = burst(rate, clock, 11, 0.004)
    for at in sent[-refused:]:
        answer(rate, clock, at, throttled=True)
    assert rate.rate == pytest.approx(expected)


def test_a_refusal_takes_at_most_half_of_a_sparse_sending_rate() -> None:
    clock = Clock()
    rate = controller(clock)
    sent = burst(rate, clock, 3, 0.5)  # 2 a second: far less than one per round trip
    answer(rate, clock, sent[-1], throttled=True)
    assert rate.rate == pytest.approx(1.0)


SPREAD = [0.0, 0.001, 0.002] + [0.003 + 0.005 * k for k in range(8)]


@pytest.mark.parametrize(
    ("times", "passed", "expected"),
    [
        # 11 requests sent at 250 a second, the first 10 answered OK before the refusal: the
        # server let them through at 250 a second, its burst included. The first rate is at
        # most a quarter of that (one refusal alone would leave 230)...
        ([0.004 * n for n in range(11)], 10, 250 / 4),
        # ... and the refusals lower it from the sending rate as above, whichever is less:
        # 3 let through at 1,000 a second (at most 250), then 8 refused: 20 a second each off
        # the 263 a second they were sent at.
        (SPREAD, 3, 10 / 0.038 - 8 * 20),
    ],
)
def test_the_first_rate_is_at_most_a_quarter_of_what_the_server_let_through(
    times: list[float], passed: int, expected: float
) -> None:
    clock = Clock()
    rate = controller(clock)
    for at in times:
        clock.now = at
        assert rate.send_at() == at
    for at in times[:passed]:
        answer(rate, clock, at)
    for at in times[passed:]:
        answer(rate, clock, at, throttled=True)
    assert rate.rate == pytest.approx(expected)


def test_only_a_client_without_adaptivity_pauses_for_a_429() -> None:
    clock = Clock()
    adaptive, fixed = controller(clock), controller(clock, adaptive=False)
    assert adaptive.on_response(sent_at=0.0, throttled=True) is False  # the rate holds it
    assert fixed.on_response(sent_at=0.0, throttled=True) is True
    assert fixed.on_response(sent_at=0.0, throttled=False) is False
    assert adaptive.on_response(sent_at=0.0, throttled=False) is False


def test_pacing_starts_one_interval_after_a_429_and_counts_the_decreases() -> None:
    clock = Clock()
    rate = controller(clock)
    sent = burst(rate, clock, 11, 0.004)
    assert rate.decreases == 0
    answer(rate, clock, sent[-1], throttled=True)
    assert rate.decreases == 1  # a moment given out before is stale (Admission takes another)
    assert rate.rate is not None
    assert rate.send_at() == pytest.approx(clock.now + 1 / rate.rate)
    answer(rate, clock, sent[-2], throttled=True)  # the same signal
    assert rate.decreases == 1


def paced_then_refused(rate: AdaptiveRate, clock: Clock, sends: int) -> None:
    """`sends` requests one after another as pacing lets them, the last one refused."""
    for _ in range(sends):
        clock.now = rate.send_at()
    refused_at = clock.now
    clock.now += RTT
    rate.on_response(sent_at=refused_at, throttled=True)


@pytest.mark.parametrize(
    ("idle", "expected"),
    [
        # 10/s, refused once at 0.1 s; paced from 0.25 s, 11 requests 0.1 s apart, the last
        # refused at 1.25 s: the server let 10 through in 1.15 s; the rate is 9/10 of that.
        (0.0, 0.9 * 10 / 1.15),
        (0.5, 0.9 * 10 / 1.55),  # a pause before: the same 10 in 1.55 s
        (1.0, 5.0),  # 10 in 2.05 s: at most half comes off
    ],
)
def test_a_later_429_sets_what_the_server_let_through_since_the_one_before(
    idle: float, expected: float
) -> None:
    clock = Clock()
    rate = limited(10.0, clock)
    if idle:
        rate.pause(idle)
    paced_then_refused(rate, clock, 11)
    assert rate.rate == pytest.approx(expected)


def test_a_request_the_rate_did_not_hold_back_leaves_the_measure_out() -> None:
    clock = Clock()
    rate = limited(10.0, clock)
    clock.now += 5.0  # idle: the next request goes at once; the server's bucket refilled
    paced_then_refused(rate, clock, 11)
    assert rate.rate == pytest.approx(8.0)  # x 0.8: what it let through says nothing


def test_a_rate_no_429_confirmed_for_a_minute_is_dropped() -> None:
    clock = Clock()
    rate = limited(10.0, clock)
    clock.now += 59.0
    assert rate.send_at() == clock.now
    assert rate.send_at() > clock.now  # still paced
    clock.now += 2.0
    assert rate.send_at() == clock.now
    assert rate.rate is None
    assert rate.send_at() == clock.now  # no pacing until the next 429


def test_an_answer_sent_after_the_first_429_ends_its_burst() -> None:
    clock = Clock()
    rate = controller(clock)
    sent = burst(rate, clock, 11, 0.004)
    answer(rate, clock, sent[-2], throttled=True)
    assert rate.rate == pytest.approx(230.0)
    answer(rate, clock, clock.now)  # sent after the decrease: the burst is over
    answer(rate, clock, sent[-1], throttled=True)  # a late 429 of the burst lowers nothing
    assert rate.rate == pytest.approx(230.0)


def test_later_429s_multiply_the_rate_once_per_signal() -> None:
    clock = Clock()
    rate = limited(10.0, clock)
    sent_before = clock.now
    answer(rate, clock, clock.now + 0.001, throttled=True)
    assert rate.rate == pytest.approx(8.0)  # x 0.8
    decreased_at = clock.now
    # Requests sent before that decrease answer 429 too: the same signal, no new decrease.
    for at in (sent_before, decreased_at - 0.01, decreased_at - 0.001):
        answer(rate, clock, at, throttled=True)
    assert rate.rate == pytest.approx(8.0)
    answer(rate, clock, decreased_at, throttled=True)  # sent at the decrease: a new one
    assert rate.rate == pytest.approx(6.4)


def test_the_rate_never_goes_below_the_floor() -> None:
    clock = Clock()
    rate = limited(1.0, clock, floor=0.5)
    for _ in range(10):
        answer(rate, clock, clock.now, throttled=True)
    assert rate.rate == 0.5


def paced_successes(rate: AdaptiveRate, clock: Clock, count: int) -> None:
    """A request sent at once, then `count` more, each held back for its paced moment while
    an earlier one is answered."""
    at = rate.send_at()
    for _ in range(count):
        clock.now = at
        at = rate.send_at()
        assert at > clock.now  # the rate holds it back
        rate.on_response(sent_at=clock.now - RTT, throttled=False)


def test_the_rate_grows_linearly_with_time_answered_while_it_holds_requests_back() -> None:
    clock = Clock()
    rate = limited(10.0, clock, growth=0.1)
    clock.now += 1.0
    rate.on_response(sent_at=clock.now - RTT, throttled=False)  # not paced: no growth
    assert rate.rate == 10.0
    paced_successes(rate, clock, 30)
    # Answers about 0.1 s apart (10/s, growing): each adds 10 % of 10/s per second since the
    # answer before it, counted up to one round trip (50 ms): time beyond a round trip is
    # not time answered. The first comes at the same moment as the one before it.
    assert rate.rate == pytest.approx(10.0 + 29 * 0.1 * 10.0 * RTT)
    # Half a minute idle adds no more than one round trip's worth either.
    clock.now += 30
    before = rate.rate
    paced_successes(rate, clock, 1)
    assert rate.rate == pytest.approx(before + 0.1 * 10.0 * RTT)


def test_a_rate_the_ceiling_would_hold_back_is_dropped() -> None:
    clock = Clock()
    rate = limited(150.0, clock, growth=10.0)  # 8 in flight per 50 ms is 160/s
    at = rate.send_at()
    for _ in range(5):
        clock.now = at
        at = rate.send_at()
        rate.on_response(sent_at=clock.now - RTT, throttled=False)
        if rate.rate is None:
            break
        assert rate.rate * RTT <= 8
    assert rate.rate is None
    assert rate.send_at() == clock.now  # no pacing


@pytest.mark.parametrize(("rand", "factor"), [(0.0, 0.5), (0.5, 1.0), (1.0, 1.5)])
def test_paced_requests_are_spaced_with_bounded_jitter(rand: float, factor: float) -> None:
    clock = Clock()
    rate = limited(10.0, clock)
    rate.rand = lambda: rand
    start = clock.now
    moments = [rate.send_at() for _ in range(4)]  # four requests at the same instant
    assert moments[0] == pytest.approx(start + 0.1)  # one interval after the 429
    gaps = [b - a for a, b in itertools.pairwise(moments)]
    assert gaps == pytest.approx([0.1 * factor] * 3)


def test_jitter_draws_stay_within_their_bounds() -> None:
    clock = Clock()
    rate = limited(10.0, clock)
    rate.rand = random.Random(7).random
    moments = [rate.send_at() for _ in range(200)]
    gaps = [b - a for a, b in itertools.pairwise(moments)]
    assert min(gaps) >= 0.05
    assert max(gaps) <= 0.15
    assert len({round(g, 9) for g in gaps}) > 100  # jittered, not a fixed step


def test_a_pause_holds_every_request_then_releases_them_spread_out() -> None:
    clock = Clock()
    rate = controller(clock)
    answer(rate, clock, 0.0)  # learns the round trip: 50 ms
    rate.pause(2.0)
    assert rate.pause_left() == pytest.approx(2.0)
    clock.now += 2.0
    assert rate.pause_left() == 0.0
    moments = [rate.send_at() for _ in range(8)]
    # Not limited, so spread over one round trip: 8 requests 50 / 8 ms apart.
    gaps = [b - a for a, b in itertools.pairwise(moments)]
    assert moments[0] == clock.now
    assert gaps == pytest.approx([RTT / 8] * 7)
    clock.now += 2 * RTT  # a round trip after the pause: no more spreading
    assert rate.send_at() == clock.now


def test_a_longer_pause_is_kept() -> None:
    clock = Clock()
    rate = controller(clock)
    rate.pause(5.0)
    rate.pause(1.0)
    assert rate.pause_left() == 5.0


def test_paced_requests_wait_for_the_end_of_a_pause() -> None:
    clock = Clock()
    rate = limited(10.0, clock)
    rate.pause(3.0)
    assert rate.send_at() == pytest.approx(clock.now + 3.0)


def test_without_adaptivity_429s_set_no_rate() -> None:
    clock = Clock()
    rate = controller(clock, adaptive=False)
    sent = burst(rate, clock, 11, 0.01)
    for at in sent:
        answer(rate, clock, at, throttled=True)
    assert rate.rate is None
    rate.pause(1.0)
    clock.now += 1.0
    assert rate.send_at() < rate.send_at()  # still released spread out after a pause


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ceiling": 0}, "ceiling"),
        ({"ceiling": True}, "ceiling"),
        ({"floor": 0}, "floor"),
        ({"backoff": 1.0}, "backoffs"),
        ({"first_backoff": 0}, "backoffs"),
        ({"growth": 0}, "growth"),
        ({"jitter": 1.0}, "jitter"),
        ({"forget_after": 0}, "forget_after"),
    ],
)
def test_arguments_are_checked(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"ceiling": 8} | kwargs
    with pytest.raises(ValueError, match=message):
        AdaptiveRate(**args)  # type: ignore[arg-type]
