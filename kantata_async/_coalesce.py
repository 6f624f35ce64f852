"""Identical reads in flight share one request and its merged result.

Twenty web requests asking for `users/me` at once, or two pages whose nested includes ask for
the same `only=` batch, need one HTTP request, not twenty. `Coalescer.run(key, work)` runs
`work` once for every caller that asks with the same key while it is in flight, and gives
each the same result (or the same error).

What is shared is the work's result (records merged into the graph), never a payload: the
graph adopts a payload's dicts as its records' storage, so one payload is merged once.

- The work runs in a task of its own: a caller that is cancelled (or times out) while
  waiting leaves it running for the others; the last caller to go cancels it.
- A write (see `Resource._call`) calls `forget()` when it is sent and when it is answered:
  reads asked for after that start their own request instead of joining one sent before,
  so a read never returns what the server held before a write this client made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

__all__ = ["Coalescer"]

T = TypeVar("T")


class _Shared:
    """One piece of work in flight, and how many callers wait for it."""

    __slots__ = ("task", "waiters")

    def __init__(self) -> None:
        self.task: asyncio.Task[Any] | None = None
        self.waiters = 0


class Coalescer:
    """Shares work in flight between callers asking with the same key (one per client)."""

    def __init__(self) -> None:
        self._in_flight: dict[Hashable, _Shared] = {}

    def __len__(self) -> int:
        return len(self._in_flight)

    async def run(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> T:
        """The result of `work()`, run once for all callers with `key` while it is in flight."""
        shared = self._in_flight.get(key)
        if shared is None:
            shared = self._in_flight[key] = _Shared()
            shared.task = asyncio.get_running_loop().create_task(self._work(key, shared, work))
        task = shared.task
        assert task is not None
        shared.waiters += 1
        try:
            # The shield keeps a waiter's cancellation from reaching the shared work.
            result: T = await asyncio.shield(task)
            return result
        finally:
            shared.waiters -= 1
            if not shared.waiters and not task.done():
                # The last waiter went away: nobody wants the answer any more.
                self._drop(key, shared)
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _work(self, key: Hashable, shared: _Shared, work: Callable[[], Awaitable[T]]) -> T:
        try:
            return await work()
        finally:
            self._drop(key, shared)  # done: later callers start afresh

    def forget(self) -> None:
        """Let later callers start their own work: what is in flight now still finishes for
        the callers waiting for it."""
        self._in_flight.clear()

    def _drop(self, key: Hashable, shared: _Shared) -> None:
        if self._in_flight.get(key) is shared:
            del self._in_flight[key]
