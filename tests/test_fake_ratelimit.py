"""FakeKantata's rate limiter: a token bucket answering 429 as Kantata does, and clients on it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter

import aiohttp
import pytest
from conftest import on_my_account

from kantata_async import KantataClient, RetryPolicy
from kantata_async.testing import FakeKantata, FakeKantataProcess
from kantata_async.testing._ratelimit import TokenBucket

KANTATA_429 = {
    "errors": [{"type": "system", "message": "Too many requests. Please retry after a delay."}]
}


def test_a_bucket_starts_full_then_lets_one_through_per_interval() -> None:
    bucket = TokenBucket(10, 3, now=100.0)
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(100.05) is False  # half a token
    assert bucket.take(100.1) is True  # a whole one after 1 / rate
    assert bucket.take(100.1) is False


def test_a_bucket_holds_at_most_its_burst() -> None:
    bucket = TokenBucket(10, 2, now=0.0)
    assert bucket.take(0.0) and bucket.take(0.0)
    # An hour idle refills two tokens, not 36,000.
    assert [bucket.take(3600.0) for _ in range(3)] == [True, True, False]


def test_a_clock_read_out_of_order_refills_nothing() -> None:
    bucket = TokenBucket(1, 1, now=10.0)
    assert bucket.take(10.0)
    assert bucket.take(9.0) is False  # an arrival stamped before the last one
    assert bucket.take(10.5) is False  # the half second counts from 10.0, not from 9.0
    assert bucket.take(11.0)


@pytest.mark.parametrize(
    ("rate", "burst", "message"),
    [
        (0, 1, "rate"),
        (-1, 1, "rate"),
        (float("inf"), 1, "rate"),
        (True, 1, "rate"),
        (1, 0, "burst"),
    ],
)
def test_a_bucket_checks_its_numbers(rate: float, burst: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TokenBucket(rate, burst, now=0.0)


async def get(session: aiohttp.ClientSession, fake: FakeKantata, path: str) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {fake.token}"}
    async with session.get(fake.base_url + path, headers=headers) as resp:
        assert "Retry-After" not in resp.headers
        assert not [h for h in resp.headers if h.lower().startswith("x-ratelimit")]
        return resp.status, await resp.text()


async def test_requests_past_the_bucket_get_kantatas_429(fake: FakeKantata) -> None:
    fake.rate_limit(0.001, burst=3)  # three at once, then one every 1,000 s
    async with aiohttp.ClientSession() as session:
        answers = await asyncio.gather(*(get(session, fake, "users/3") for _ in range(5)))
    assert sorted(status for status, _ in answers) == [200, 200, 200, 429, 429]
    refused = [json.loads(body) for status, body in answers if status == 429]
    assert refused == [KANTATA_429, KANTATA_429]
    assert Counter(r.status for r in fake.requests) == {200: 3, 429: 2}


async def test_the_bucket_sits_before_the_scripted_faults(fake: FakeKantata) -> None:
    fake.rate_limit(0.001, burst=1)
    fake.fail_next(503)
    async with aiohttp.ClientSession() as session:
        assert (await get(session, fake, "users/3"))[0] == 503  # the admitted one takes it
        assert (await get(session, fake, "users/3"))[0] == 429
        assert fake.pending_faults == 0
        fake.fail_next(503)
        assert (await get(session, fake, "users/3"))[0] == 429
        assert fake.pending_faults == 1  # a refused request does not use the script up


async def test_a_limit_can_be_changed_and_turned_off(fake: FakeKantata) -> None:
    fake.rate_limit(0.001, burst=1)
    async with aiohttp.ClientSession() as session:
        assert [(await get(session, fake, "users/3"))[0] for _ in range(2)] == [200, 429]
        fake.rate_limit(0.001, burst=2)  # a new bucket starts full
        assert [(await get(session, fake, "users/3"))[0] for _ in range(3)] == [200, 200, 429]
        fake.rate_limit(None)
        assert [(await get(session, fake, "users/3"))[0] for _ in range(5)] == [200] * 5


def test_the_burst_defaults_to_one_second_of_the_rate() -> None:
    fake = FakeKantata(users=1)
    fake.rate_limit(50)
    assert fake._bucket is not None and fake._bucket.burst == 50
    fake.rate_limit(0.5)
    assert fake._bucket.burst == 1
    with pytest.raises(ValueError, match="burst needs a rate"):
        fake.rate_limit(None, burst=3)


async def test_an_export_under_the_limit_gets_every_record_once() -> None:
    policy = RetryPolicy(max_retries=8, backoff_base=0.02, backoff_max=0.1)
    async with FakeKantata(users=400, seed=3) as fake:
        fake.rate_limit(20, burst=3)
        async with KantataClient(fake.token, base_url=fake.base_url, retry=policy) as client:
            listing = client.users.list(on_my_account=True, show_disabled=True, per_page=10)
            ids = [u.id async for u in listing]
            transport = client.transport
            refused = sum(r.status == 429 for r in fake.requests)
            assert refused > 0  # a burst of 8 at once cannot fit through a bucket of 3
            assert transport.rate_limited == refused
            assert transport.pacing.rate is not None  # the client learned a rate
    every = on_my_account(fake)
    assert sorted(ids, key=int) == every
    served = [r.query["page"] for r in fake.requests if r.status == 200]
    # Each page once, and after a full last page the empty one past it.
    assert len(served) == len(set(served)) == len(every) // 10 + 1


def test_the_process_and_the_command_line_take_the_limit() -> None:
    async def three(base_url: str, token: str) -> list[int]:
        async with aiohttp.ClientSession() as session:
            statuses = []
            for _ in range(3):
                headers = {"Authorization": f"Bearer {token}"}
                async with session.get(base_url + "users/1", headers=headers) as resp:
                    statuses.append(resp.status)
            return statuses

    with FakeKantataProcess(5, rate_limit=0.001, rate_burst=2) as server:
        assert asyncio.run(three(server.base_url, server.token)) == [200, 200, 429]
    lone_burst = subprocess.run(
        [sys.executable, "-m", "kantata_async.testing", "--rate-burst", "3", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert lone_burst.returncode == 2
    assert "burst needs a rate" in lone_burst.stderr
