"""The retry policy is a pure function: a table of cases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kantata_async import Failure, RetryPolicy
from kantata_async._retry import parse_retry_after

POLICY = RetryPolicy(max_retries=3, backoff_base=1.0, backoff_max=8.0, max_retry_after=60.0)


def top(_: object = None) -> float:
    return 1.0


@pytest.mark.parametrize(
    ("method", "retries_done", "status", "failure", "retry_after", "expected"),
    [
        # idempotent methods retry on 429/502/503/504, connection failures and timeouts
        ("GET", 0, 429, None, None, 1.0),
        ("GET", 0, 502, None, None, 1.0),
        ("GET", 1, 503, None, None, 2.0),
        ("PUT", 2, 504, None, None, 4.0),
        ("DELETE", 0, None, Failure.SENT, None, 1.0),
        ("GET", 0, None, Failure.TIMEOUT, None, 1.0),
        ("GET", 0, None, Failure.CONNECT, None, 1.0),
        # backoff is capped
        ("GET", 2, 503, None, None, 4.0),
        # Retry-After wins over backoff, but not beyond max_retry_after
        ("GET", 0, 429, None, 7.5, 7.5),
        ("GET", 0, 429, None, 0.0, 0.0),
        ("GET", 0, 429, None, 61.0, None),
        # other statuses never retry
        ("GET", 0, 400, None, None, None),
        ("GET", 0, 401, None, None, None),
        ("GET", 0, 404, None, None, None),
        ("GET", 0, 422, None, None, None),
        ("GET", 0, 500, None, None, None),
        # the retry budget runs out
        ("GET", 3, 503, None, None, None),
        ("GET", 3, None, Failure.CONNECT, None, None),
        # POST retries only when the request never left
        ("POST", 0, None, Failure.CONNECT, None, 1.0),
        ("POST", 0, None, Failure.SENT, None, None),
        ("POST", 0, None, Failure.TIMEOUT, None, None),
        ("POST", 0, 503, None, None, None),
        ("POST", 0, 429, None, 1.0, None),
        # neither a status nor a failure: nothing to retry
        ("GET", 0, None, None, None, None),
    ],
)
def test_policy_table(
    method: str,
    retries_done: int,
    status: int | None,
    failure: Failure | None,
    retry_after: float | None,
    expected: float | None,
) -> None:
    got = POLICY.delay(
        method=method,
        retries_done=retries_done,
        status=status,
        failure=failure,
        retry_after=retry_after,
        rand=top,
    )
    assert got == expected


@pytest.mark.parametrize("retries_done", [0, 1, 2])
def test_jitter_stays_between_half_and_all_of_the_backoff(retries_done: int) -> None:
    ceiling = min(8.0, 2.0**retries_done)
    low = POLICY.delay(method="GET", retries_done=retries_done, status=503, rand=lambda: 0.0)
    high = POLICY.delay(method="GET", retries_done=retries_done, status=503, rand=lambda: 1.0)
    assert low == ceiling / 2
    assert high == ceiling


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ValueError, match="backoff"):
        RetryPolicy(backoff_base=-1)


NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("3", 3.0),
        (" 2.5 ", 2.5),
        ("-4", 0.0),
        ("Mon, 23 Nov 2026 12:00:30 GMT", 30.0),
        ("Mon, 23 Nov 2026 11:59:00 GMT", 0.0),
        ("soon", None),
        ("", None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected


def test_an_instant_policy_takes_the_same_decisions_without_waiting() -> None:
    normal, instant = RetryPolicy(), RetryPolicy.instant()
    for retries_done in range(6):
        for status in (429, 500, 503):
            for retry_after in (None, 2.0, 1000.0):
                waits = [
                    policy.delay(
                        method="GET",
                        retries_done=retries_done,
                        status=status,
                        retry_after=retry_after,
                        rand=lambda: 0.5,
                    )
                    for policy in (normal, instant)
                ]
                assert (waits[0] is None) == (waits[1] is None)
                assert waits[1] in (None, 0.0)
    with pytest.raises(ValueError, match="time_scale"):
        RetryPolicy(time_scale=-1)
