"""Identical reads in flight share one request and its merged result.

Twenty web requests asking for `users/me` at once, or two pages whose nested includes ask for
the same `only=` batch, need one HTTP request, not twenty. `Coalescer.run(key, work)` runs
`work` once for every caller that asks with the same key while it is in flight, and gives
each the same result (or the same error).

What is shared is the work's result (records merged into the graph), never a payload: the
graph adopts a payload's dicts as its records' storage, so one payload is merged once.

- The work runs in a task of its own: a caller that is cancelled (or times out) while
  waiting leaves it running for the others; the last caller to go cancels it (and waits
  until it has stopped).
- A write (see `Resource._call`) calls `forget()` when it is issued and when it is answered:
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
    """One piece of work in flight, and the answers its callers wait for."""

    __slots__ = ("answers", "task")

    def __init__(self) -> None:
        self.task: asyncio.Task[None] | None = None
        self.answers: list[asyncio.Future[Any]] = []


class Coalescer:
    """Shares work in flight between callers asking with the same key (one per client)."""

    def __init__(self) -> None:
        self._in_flight: dict[Hashable, _Shared] = {}

    def __len__(self) -> int:
        return len(self._in_flight)

    async def run(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> T:
        """The result of `work()`, run once for all callers with `key` while it is in flight."""
        loop = asyncio.get_running_loop()
        shared = self._in_flight.get(key)
        if shared is None or shared.task is None or shared.task.get_loop() is not loop:
            # (Work of another event loop is never joined: the caller's own work raises.)
            shared = self._in_flight[key] = _Shared()
            shared.task = loop.create_task(self._work(key, shared, work))
        task = shared.task
        assert task is not None
        # Each caller waits on a future of its own, which the work settles: cancelling a
        # caller cancels its future, never the work (what `asyncio.shield` does, a loop
        # iteration sooner).
        answer: asyncio.Future[T] = loop.create_future()
        shared.answers.append(answer)
        try:
            return await answer
        except asyncio.CancelledError:
            if answer.cancelled() and answer in shared.answers:
                shared.answers.remove(answer)
                if not shared.answers and not task.done():
                    # The last caller went away: nobody wants the answer any more.
                    self._drop(key, shared)
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
            raise

    async def _work(self, key: Hashable, shared: _Shared, work: Callable[[], Awaitable[T]]) -> None:
        try:
            result = await work()
        except asyncio.CancelledError:
            self._drop(key, shared)
            for answer in shared.answers:
                answer.cancel()
            raise
        except Exception as err:
            self._drop(key, shared)
            for answer in shared.answers:
                if not answer.done():
                    answer.set_exception(err)
        else:
            self._drop(key, shared)  # done: later callers start afresh
            for answer in shared.answers:
                if not answer.done():
                    answer.set_result(result)

    def forget(self) -> None:
        """Let later callers start their own work: what is in flight now still finishes for
        the callers waiting for it."""
        self._in_flight.clear()

    def _drop(self, key: Hashable, shared: _Shared) -> None:
        if self._in_flight.get(key) is shared:
            del self._in_flight[key]
