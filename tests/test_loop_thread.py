"""`_loop_thread`: async walks read from synchronous code, and stopped in order."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest

from kantata_async._loop_thread import LoopThread, pull


class Resource:
    """Stands for a client: made for a loop, closed in it."""

    def __init__(self) -> None:
        self.closed_in: threading.Thread | None = None

    async def close(self) -> None:
        self.closed_in = threading.current_thread()


def test_items_come_in_order_and_the_last_release_ends_the_thread() -> None:
    made: list[Resource] = []
    runner = LoopThread(lambda: made.append(Resource()) or made[-1], Resource.close, "walks")

    async def numbers(n: int) -> AsyncIterator[int]:
        for i in range(n):
            await asyncio.sleep(0)
            yield i

    loop, first = runner.acquire()
    again, second = runner.acquire()
    assert (again, second) == (loop, first)  # one loop, one resource, for both users
    assert list(pull(loop, numbers(50))) == list(range(50))
    runner.release()
    assert first.closed_in is None  # a user is left
    runner.release()
    assert first.closed_in is not None and first.closed_in.name == "walks"
    assert not first.closed_in.is_alive()
    assert loop.is_closed()
    loop, third = runner.acquire()  # a new run: a new loop, a new resource
    assert third is not first and not loop.is_closed()
    runner.release()


def test_an_error_in_the_walk_is_raised_to_the_reader() -> None:
    runner = LoopThread(Resource, Resource.close, "walks")

    async def failing() -> AsyncIterator[int]:
        yield 1
        raise LookupError("page 2 went missing")

    loop, _ = runner.acquire()
    got = []
    with pytest.raises(LookupError, match="page 2 went missing"):
        for item in pull(loop, failing()):
            got.append(item)
    assert got == [1]
    runner.release()


def test_closing_the_reader_cancels_the_walk_and_waits_for_it() -> None:
    runner = LoopThread(Resource, Resource.close, "walks")
    unwound = threading.Event()
    stuck = asyncio.Event()  # never set: the walk waits for a page that never comes

    async def endless() -> AsyncIterator[int]:
        try:
            yield 1
            await stuck.wait()
            yield 2
        finally:
            await asyncio.sleep(0)  # unwinding takes a turn of the loop, as closing requests does
            unwound.set()

    loop, _ = runner.acquire()
    reader = pull(loop, endless())
    assert next(reader) == 1
    reader.close()
    assert unwound.is_set()  # by the time close() returns, not later

    async def others() -> int:
        return len(asyncio.all_tasks()) - 1  # less this one

    assert asyncio.run_coroutine_threadsafe(others(), loop).result(10) == 0
    runner.release()
