"""An event loop in a thread of its own, and async iterators read from synchronous code.

For callers that are synchronous and pull, one item at a time: dlt's extract calls `next()`
on a resource's generator. The SDK's walks run in the loop; `pull` hands their items over as
they come. A walk also stops in order: closing the reader (dlt closes its resources on an
error, and Ctrl-C raises in the reader) cancels the walk's task and waits until it has
unwound, its requests cancelled and its client still open, before the loop goes.

dlt would run an async resource in an event loop of its own too, but on an error it cancels
the resource's task and closes its async generators at the same time, while they are still
unwinding: asyncio then reports each as an error ("aclose(): asynchronous generator is
already running").
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Final, Generic, TypeVar, cast

__all__ = ["LoopThread", "pull"]

T = TypeVar("T")
R = TypeVar("R")

# How long a reader waits for a cancelled walk to unwind, or a client to close.
_STOP_TIMEOUT: Final = 60.0


class LoopThread(Generic[R]):
    """An event loop in a daemon thread, shared by whoever `acquire`s it, with one `R` (a
    client) made for it; the last `release` closes the `R` in the loop and ends the thread.
    The next `acquire` starts a new loop, with a new `R`."""

    def __init__(
        self, make: Callable[[], R], close: Callable[[R], Awaitable[None]], name: str
    ) -> None:
        self._make = make
        self._close = close
        self._name = name
        self._lock = threading.Lock()
        self._users = 0
        self._running: tuple[asyncio.AbstractEventLoop, threading.Thread, R] | None = None

    def acquire(self) -> tuple[asyncio.AbstractEventLoop, R]:
        """The loop (started if need be) and its `R`."""
        with self._lock:
            if self._running is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name=self._name, daemon=True)
                thread.start()
                self._running = (loop, thread, self._make())
            self._users += 1
            loop, _, made = self._running
            return loop, made

    def release(self) -> None:
        """One user fewer; after the last, close the `R` and stop the loop."""
        with self._lock:
            self._users -= 1
            if self._users > 0 or self._running is None:
                return
            loop, thread, made = self._running
            self._running = None
        try:
            asyncio.run_coroutine_threadsafe(_closing(self._close, made), loop).result(
                _STOP_TIMEOUT
            )
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(_STOP_TIMEOUT)
            if not thread.is_alive():
                loop.close()


async def _closing(close: Callable[[R], Awaitable[None]], made: R) -> None:
    await close(made)
    await asyncio.get_running_loop().shutdown_asyncgens()


class _End:
    """The walk ended."""


class _Failed:
    """The walk raised `error`."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def pull(loop: asyncio.AbstractEventLoop, items: AsyncIterator[T], buffer: int = 2) -> Iterator[T]:
    """The items of `items`, which runs as a task in `loop` (another thread's), in order.

    Up to `buffer` items wait for the reader. An error in `items` is raised here. Closing
    this generator, or an exception while it waits (KeyboardInterrupt), cancels the task
    and waits until it has unwound.
    """

    async def produce(queue: asyncio.Queue[object]) -> None:
        try:
            async for item in items:
                await queue.put(item)
        except Exception as err:
            await queue.put(_Failed(err))
            return
        await queue.put(_End())

    async def start() -> tuple[asyncio.Queue[object], asyncio.Task[None]]:
        queue: asyncio.Queue[object] = asyncio.Queue(buffer)
        return queue, asyncio.get_running_loop().create_task(produce(queue))

    async def stop(task: asyncio.Task[None]) -> None:
        task.cancel()
        await asyncio.wait([task])

    queue, task = asyncio.run_coroutine_threadsafe(start(), loop).result()
    try:
        while True:
            waiting = asyncio.run_coroutine_threadsafe(queue.get(), loop)
            try:
                item = waiting.result()
            except BaseException:
                waiting.cancel()
                raise
            if isinstance(item, _End):
                return
            if isinstance(item, _Failed):
                raise item.error
            yield cast(T, item)  # what `produce` put
    finally:
        asyncio.run_coroutine_threadsafe(stop(task), loop).result(_STOP_TIMEOUT)
