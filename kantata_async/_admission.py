"""`Admission`: when a request of the client may go out. The asyncio side of `ConcurrencyLimit`.

A request takes a slot (at most `limit.slots` in flight, first come first served; the number
changes as the limit learns), then waits out any client-wide pause and its paced moment, with
the slot in hand: a request that queued for a slot before a 429 arrived must not go out
during the pause the 429 started.
"""

from __future__ import annotations

import asyncio
from collections import deque

from ._concurrency import ConcurrencyLimit

__all__ = ["Admission"]


class Admission:
    """The client's slots, pause and pacing. Create it inside the running event loop."""

    def __init__(self, limit: ConcurrencyLimit) -> None:
        self.limit = limit
        self.in_flight = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    async def enter(self) -> None:
        """Wait until the caller's request may be sent; the caller must `leave()` after."""
        if self.in_flight < self.limit.slots and not self._waiting:
            self.in_flight += 1
        else:
            granted = asyncio.get_running_loop().create_future()
            self._waiting.append(granted)
            try:
                await granted
            except asyncio.CancelledError:
                if granted.cancelled():
                    self._waiting.remove(granted)
                else:  # granted a slot, but cancelled before taking it: pass it on
                    self.leave()
                raise
        try:
            await self._wait_turn()
        except BaseException:
            self.leave()
            raise

    def leave(self) -> None:
        """Give the slot back, and hand free slots to the requests waiting, in order."""
        self.in_flight -= 1
        while self._waiting and self.in_flight < self.limit.slots:
            granted = self._waiting.popleft()
            if not granted.done():
                self.in_flight += 1
                granted.set_result(None)

    async def _wait_turn(self) -> None:
        limit = self.limit
        send_at: float | None = None
        while True:
            # A loop, not an Event: another 429 may push the end of the pause while we sleep.
            paused = limit.pause_left()
            if paused > 0:
                send_at = None  # a new moment is reserved once the pause is over
                await asyncio.sleep(paused)
                continue
            if send_at is None:
                send_at = limit.send_at()
            wait = send_at - limit.clock()
            if wait <= 0:
                return
            await asyncio.sleep(wait)
