"""Identical reads in flight share one request and its merged result.

Twenty web requests asking for `users/me` at once, or two pages whose nested includes ask for
the same `only=` batch, need one HTTP request, not twenty. `Coalescer.run(key, work)` runs
`work` once for every caller that asks with the same key while it is in flight, and gives
each the same result (or the same error).

What is shared is the work's result (records merged into the graph), never a payload: the
graph adopts a payload's dicts as its records' storage, so one payload is merged once.

- The first caller runs the work itself (no task: a read nobody shares costs what it did
  before); callers with the same key meanwhile wait on futures of their own, so a waiting
  caller that is cancelled (or times out) leaves the work running for the others.
- When the first caller is cancelled while others wait, its request goes with it and the
  work is handed over: run again, in a task, for the callers still waiting. When they all
  go, that task is cancelled too (and waited for).
- A write (see `ClientAPI.request`) calls `forget()` when it is issued and when it is
  answered: reads asked for after that start their own request instead of joining one sent
  before, so a read never returns what the server held before a write this client made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

__all__ = ["Coalescer"]

T = TypeVar("T")


class _Shared:
    """One piece of work in flight, and the answers its other callers wait for."""

    __slots__ = ("answers", "loop", "task")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.answers: list[asyncio.Future[Any]] = []
        self.task: asyncio.Task[None] | None = None  # set when the work was handed over


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
        # (Work of another event loop is never joined: the caller's own work raises.)
        if shared is not None and shared.loop is loop:
            result: T = await self._wait(key, shared)
            return result
        shared = self._in_flight[key] = _Shared(loop)
        try:
            result = await work()
        except asyncio.CancelledError:
            self._drop(key, shared)
            if any(not answer.done() for answer in shared.answers):
                # Others wait: the work goes on for them, in a task.
                shared.task = loop.create_task(self._settle(shared, work))
            raise
        except Exception as err:
            self._drop(key, shared)
            _answer(shared, error=err)
            raise
        self._drop(key, shared)  # done: later callers start afresh
        _answer(shared, result=result)
        return result

    async def _wait(self, key: Hashable, shared: _Shared) -> Any:
        answer = shared.loop.create_future()
        shared.answers.append(answer)
        try:
            return await answer
        except asyncio.CancelledError:
            if answer.cancelled() and answer in shared.answers:
                shared.answers.remove(answer)
                task = shared.task
                if not shared.answers and task is not None and not task.done():
                    # The last caller of handed-over work went away: nobody wants it now.
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
            raise

    @staticmethod
    async def _settle(shared: _Shared, work: Callable[[], Awaitable[Any]]) -> None:
        """Run handed-over work again for the callers still waiting."""
        try:
            result = await work()
        except asyncio.CancelledError:
            for answer in shared.answers:
                answer.cancel()
            raise
        except Exception as err:
            _answer(shared, error=err)
        else:
            _answer(shared, result=result)

    def forget(self) -> None:
        """Let later callers start their own work: what is in flight now still finishes for
        the callers waiting for it."""
        self._in_flight.clear()

    def _drop(self, key: Hashable, shared: _Shared) -> None:
        if self._in_flight.get(key) is shared:
            del self._in_flight[key]


def _answer(shared: _Shared, *, result: Any = None, error: Exception | None = None) -> None:
    for answer in shared.answers:
        if answer.done():
            continue
        if error is not None:
            answer.set_exception(error)
        else:
            answer.set_result(result)
