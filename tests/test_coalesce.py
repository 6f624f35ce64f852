"""Identical GETs in flight share one request and one merged result; writes never do."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from conftest import on_my_account, sdk_tasks

from kantata_async import Graph, KantataClient, NotFoundError, RetryPolicy
from kantata_async._coalesce import Coalescer
from kantata_async.testing import FakeKantata, RecordedRequest

FAST = RetryPolicy(max_retries=2, backoff_base=0.01, backoff_max=0.02)

# -- the coalescer on its own ------------------------------------------------------------


class Work:
    """Work that waits for `release` and counts how often it started."""

    def __init__(self, result: object = "done", error: Exception | None = None) -> None:
        self.started = 0
        self.cancelled = False
        self.release = asyncio.Event()
        self.result = result
        self.error = error

    async def __call__(self) -> object:
        self.started += 1
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        if self.error is not None:
            raise self.error
        return self.result


async def started(tasks: list[asyncio.Task[Any]]) -> None:
    """Let every task reach its await."""
    for _ in range(3):
        await asyncio.sleep(0)
    assert not any(task.done() for task in tasks)


async def run_again(reads: Coalescer, work: Work) -> object:
    """A call after the others are over: it starts `work` afresh, released at once."""
    call = asyncio.create_task(reads.run("a", work))
    await started([call])
    work.release.set()
    return await call


async def test_callers_with_one_key_share_one_run() -> None:
    reads, work, other = Coalescer(), Work(result=[1, 2]), Work(result="other")
    tasks = [asyncio.create_task(reads.run("a", work)) for _ in range(5)]
    tasks.append(asyncio.create_task(reads.run("b", other)))
    await started(tasks)
    work.release.set()
    other.release.set()
    results = await asyncio.gather(*tasks)
    assert (work.started, other.started) == (1, 1)
    assert results[:5] == [[1, 2]] * 5
    assert all(r is results[0] for r in results[:5])  # the very same object
    assert results[5] == "other"
    assert len(reads) == 0  # nothing left in flight


async def test_a_failure_reaches_every_caller() -> None:
    reads, work = Coalescer(), Work(error=LookupError("gone"))
    tasks = [asyncio.create_task(reads.run("a", work)) for _ in range(4)]
    await started(tasks)
    work.release.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert work.started == 1
    assert [type(o) for o in outcomes] == [LookupError] * 4
    work.error, work.release = None, asyncio.Event()
    assert await run_again(reads, work) == "done"
    assert work.started == 2


async def test_a_cancelled_follower_leaves_the_run_to_the_others() -> None:
    reads, work = Coalescer(), Work()
    tasks = [asyncio.create_task(reads.run("a", work)) for _ in range(3)]
    await started(tasks)
    tasks[1].cancel()
    await asyncio.sleep(0)
    work.release.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(outcomes[1], asyncio.CancelledError)
    assert [outcomes[0], outcomes[2]] == ["done", "done"]
    assert (work.started, work.cancelled) == (1, False)


async def test_a_cancelled_first_caller_hands_the_run_over() -> None:
    # The first caller runs the work itself; cancelled, its run goes with it and the
    # work starts again, in a task, for the callers still waiting.
    reads, work = Coalescer(), Work()
    tasks = [asyncio.create_task(reads.run("a", work)) for _ in range(3)]
    await started(tasks)
    tasks[0].cancel()
    await asyncio.sleep(0)
    work.release.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(outcomes[0], asyncio.CancelledError)
    assert outcomes[1:] == ["done", "done"]
    assert (work.started, work.cancelled) == (2, True)
    assert len(reads) == 0


async def test_the_last_caller_to_go_cancels_the_run() -> None:
    reads, work = Coalescer(), Work()
    tasks = [asyncio.create_task(reads.run("a", work)) for _ in range(3)]
    await started(tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert work.cancelled  # and finished: the last caller waited for it to stop
    assert len(reads) == 0
    assert await run_again(reads, work) == "done"
    assert work.started == 2


async def test_forget_lets_later_callers_start_their_own_run() -> None:
    reads, first, second = Coalescer(), Work(result="before"), Work(result="after")
    early = asyncio.create_task(reads.run("a", first))
    await started([early])
    reads.forget()
    late = asyncio.create_task(reads.run("a", second))
    await started([late])
    first.release.set()
    second.release.set()
    assert (await early, await late) == ("before", "after")


# -- through the client, against the fake ---------------------------------------------------


@pytest.fixture
async def slow() -> AsyncIterator[FakeKantata]:
    """A fake whose answers take 50 ms, so that concurrent calls overlap."""
    async with FakeKantata(users=60, seed=5, latency=0.05) as server:
        yield server


def paths(fake: FakeKantata) -> Counter[str]:
    return Counter(r.path for r in fake.requests)


async def test_concurrent_gets_of_one_user_send_one_request(slow: FakeKantata) -> None:
    async with KantataClient(slow.token, base_url=slow.base_url) as client:
        users = await asyncio.gather(*(client.users.get("13") for _ in range(20)))
        mes = await asyncio.gather(*(client.users.me(include=["role"]) for _ in range(20)))
        other = await asyncio.gather(
            client.users.get("13"), client.users.get("13", include=["role"])
        )
    assert all(u is users[0] for u in users) and users[0].id == "13"
    assert all(m is mes[0] for m in mes) and mes[0].id == slow.me
    assert other[0] is other[1] is users[0]
    # One request per distinct query: a different include is a different request.
    assert paths(slow) == {"users/13": 3, "users/me": 1}


async def test_a_failed_shared_get_fails_every_caller(slow: FakeKantata) -> None:
    slow.fail_next(404, path="users/13")
    async with KantataClient(slow.token, base_url=slow.base_url) as client:
        outcomes = await asyncio.gather(
            *(client.users.get("13") for _ in range(10)), return_exceptions=True
        )
    assert [type(o) for o in outcomes] == [NotFoundError] * 10
    assert paths(slow) == {"users/13": 1}


async def arrived(fake: FakeKantata, count: int) -> None:
    """Wait until the fake has received `count` requests (a test that waits in vain fails
    after 10 s rather than hanging)."""

    async def poll() -> None:
        while len(fake.requests) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), timeout=10)


async def test_cancelling_one_caller_does_not_cancel_the_others(slow: FakeKantata) -> None:
    slow.latency = 0.3
    async with KantataClient(slow.token, base_url=slow.base_url) as client:
        calls = [asyncio.create_task(client.users.get("13")) for _ in range(4)]
        await arrived(slow, 1)  # the shared request is on the server
        calls[1].cancel()  # one that joined the first caller's request
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(outcomes[1], asyncio.CancelledError)
    others = [outcomes[0], *outcomes[2:]]
    assert [u.id for u in others] == ["13"] * 3  # type: ignore[union-attr]
    assert [(r.path, r.status) for r in slow.requests] == [("users/13", 200)]


async def test_cancelling_the_first_caller_hands_the_read_over(slow: FakeKantata) -> None:
    # The first caller sends the request itself; cancelled, it takes its request along,
    # and the read is sent again for the callers still waiting.
    slow.latency = 0.3
    async with KantataClient(slow.token, base_url=slow.base_url) as client:
        calls = [asyncio.create_task(client.users.get("13")) for _ in range(4)]
        await arrived(slow, 1)
        calls[0].cancel()
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        assert sdk_tasks() == []
    assert isinstance(outcomes[0], asyncio.CancelledError)
    users = outcomes[1:]
    assert [u.id for u in users] == ["13"] * 3  # type: ignore[union-attr]
    assert all(u is users[0] for u in users)
    assert [r.path for r in slow.requests] == ["users/13", "users/13"]


async def test_cancelling_every_caller_stops_the_request(slow: FakeKantata) -> None:
    slow.latency = 5.0
    async with KantataClient(slow.token, base_url=slow.base_url) as client:
        calls = [asyncio.create_task(client.users.get("13")) for _ in range(3)]
        await arrived(slow, 1)
        for call in calls:
            call.cancel()
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(o, asyncio.CancelledError) for o in outcomes)
        assert sdk_tasks() == []  # the shared request's task is gone too
        assert len(client._reads) == 0
        slow.latency = 0.0
        assert (await client.users.get("13")).id == "13"  # a new call sends a new request
    assert [r.path for r in slow.requests] == ["users/13", "users/13"]


async def test_writes_are_never_shared(slow: FakeKantata) -> None:
    async with KantataClient(slow.token, base_url=slow.base_url, retry=FAST) as client:
        await asyncio.gather(*(client.users.update("13", headline="Same") for _ in range(3)))
    assert [r.method for r in slow.requests] == ["PUT"] * 3


async def test_a_read_after_a_write_does_not_join_a_read_sent_before_it(fake: FakeKantata) -> None:
    gate = asyncio.Event()

    async def hold_first_get(request: RecordedRequest) -> None:
        if request.method == "GET" and len(fake.requests) == 1:
            await gate.wait()  # the first GET is answered only after the write

    fake.on_request = hold_first_get
    # A held request must not time out and be sent again during the test.
    async with KantataClient(fake.token, base_url=fake.base_url, timeout=60) as client:
        before = asyncio.create_task(client.users.get("13"))
        await arrived(fake, 1)
        updated = await client.users.update("13", headline="Rewritten")
        after = asyncio.create_task(client.users.get("13"))
        await arrived(fake, 3)  # its own request, not the one sent before the write
        gate.set()
        user, again = await before, await after
    assert [(r.method, r.path) for r in fake.requests] == [
        ("GET", "users/13"),
        ("PUT", "users/13"),
        ("GET", "users/13"),
    ]
    assert user is again is updated
    assert user.headline == "Rewritten"  # the older answer did not undo the write


async def test_a_read_after_a_write_does_not_join_one_sent_during_it(fake: FakeKantata) -> None:
    write_done, read_done = asyncio.Event(), asyncio.Event()

    async def hold(request: RecordedRequest) -> None:
        if request.method == "PUT":
            await write_done.wait()
        elif len(fake.requests) == 2:  # the GET sent while the PUT is on the server
            await read_done.wait()

    fake.on_request = hold
    async with KantataClient(fake.token, base_url=fake.base_url, timeout=60) as client:
        write = asyncio.create_task(client.users.update("13", headline="Rewritten"))
        await arrived(fake, 1)
        during = asyncio.create_task(client.users.get("13"))
        await arrived(fake, 2)
        write_done.set()
        await write
        after = asyncio.create_task(client.users.get("13"))
        await arrived(fake, 3)  # its own request: the one in flight may predate the write
        read_done.set()
        assert (await during) is (await after)
    assert [r.method for r in fake.requests] == ["PUT", "GET", "GET"]


class CountingGraph(Graph):
    merges = 0

    def merge(self, payload: Any, **kwargs: Any) -> list[Any]:
        self.merges += 1
        return super().merge(payload, **kwargs)


async def test_two_lists_asking_for_one_page_share_it_and_merge_it_once(
    slow: FakeKantata,
) -> None:
    async with KantataClient(slow.token, base_url=slow.base_url) as client:
        client.graph = graph = CountingGraph()
        pages = await asyncio.gather(*(client.users.list(per_page=10) for _ in range(5)))
        by_ids = await asyncio.gather(*(client.skills.list(only=["1", "2"]) for _ in range(50)))
    assert paths(slow) == {"users": 1, "skills": 1}
    assert graph.merges == 2
    first = pages[0].items
    assert len(first) == 10
    for page in pages[1:]:
        assert page.items == first and all(a is b for a, b in zip(page.items, first, strict=True))
        assert page.items is not first  # each its own list
    assert {s.id for s in by_ids[0].items} == {"1", "2"}


async def test_two_walks_of_one_list_each_get_every_record_once(slow: FakeKantata) -> None:
    async with KantataClient(slow.token, base_url=slow.base_url) as client:

        async def walk() -> list[str]:
            listing = client.users.list(on_my_account=True, show_disabled=True, per_page=10)
            return [u.id async for u in listing]

        first, second = await asyncio.gather(walk(), walk())
    every = on_my_account(slow)
    assert sorted(first, key=int) == every
    assert sorted(second, key=int) == every
    pages = Counter(r.query["page"] for r in slow.requests)
    assert pages["1"] == 1  # both walks start together: page 1 is shared
    assert sum(pages.values()) < 2 * len(pages)  # and pages after it, when they overlap


async def test_pages_linking_to_one_record_fetch_it_once(slow: FakeKantata) -> None:
    nested = ["account_membership.skill_memberships"]
    async with KantataClient(slow.token, base_url=slow.base_url) as client:
        users = await asyncio.gather(*(client.users.get("13", include=nested) for _ in range(5)))
        memberships = users[0].account_membership.skill_memberships
    assert all(u is users[0] for u in users)
    assert memberships  # loaded
    assert paths(slow) == {"users/13": 1, "account_memberships": 1}
