"""`Admission`: when a request of the client may go out. The asyncio side of `AdaptiveRate`.

A request takes one of the client's `max_concurrency` slots, then waits out any client-wide
pause and its paced moment with the slot in hand: a request that queued for a slot before a
429 arrived must not go out during the pause the 429 started, nor at a moment paced at the
rate before it (it takes a new one).
"""

from __future__ import annotations

import asyncio

from ._rate import AdaptiveRate

__all__ = ["Admission"]


class Admission:
    """The client's slots, pause and pacing. Create it inside the running event loop."""

    def __init__(self, pacing: AdaptiveRate) -> None:
        self.pacing = pacing
        self._slots = asyncio.Semaphore(pacing.ceiling)

    async def enter(self) -> None:
        """Wait until the caller's request may be sent; the caller must `leave()` after."""
        await self._slots.acquire()
        pacing = self.pacing
        if pacing.paused_until <= pacing.clock():
            send_at = pacing.send_at()
            if send_at <= pacing.clock():
                return  # no pause, not paced: the common case, without another await
        else:
            send_at = None
        try:
            await self._wait_turn(send_at)
        except BaseException:
            self._slots.release()
            raise

    def leave(self) -> None:
        """Give the slot back."""
        self._slots.release()

    async def _wait_turn(self, send_at: float | None) -> None:
        """Sleep until `send_at` (a reserved paced moment), or out of the pause first."""
        pacing = self.pacing
        decreases = pacing.decreases
        while True:
            # A loop, not an Event: another 429 may push the end of the pause while we sleep.
            paused = pacing.pause_left()
            if paused > 0:
                send_at = None  # a paced moment is reserved once the pause is over
                await asyncio.sleep(paused)
                continue
            if send_at is None or pacing.decreases != decreases:
                # A 429 lowered the rate while we waited: the moment was paced at the old one.
                decreases = pacing.decreases
                send_at = pacing.send_at()
            wait = send_at - pacing.clock()
            if wait <= 0:
                return
            await asyncio.sleep(wait)
