"""A FakeKantata in a thread of its own, for code that runs its own event loop (the command
line's `asyncio.run`, a dlt pipeline's extract loop): tests that drive it stay synchronous."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from kantata_async.testing import FakeKantata, RecordedRequest

T = TypeVar("T")


@dataclass
class Served:
    """A FakeKantata running in a thread: set knobs only while no request is in flight."""

    fake: FakeKantata
    loop: asyncio.AbstractEventLoop

    @property
    def url(self) -> str:
        return self.fake.base_url

    @property
    def token(self) -> str:
        return self.fake.token

    def visible_users(self) -> set[str]:
        """The users `GET /users` lists by default (see `conftest.visible`)."""
        from conftest import visible

        return visible(self.fake)

    def call(self, change: Callable[[], T]) -> T:
        """Run `change` (a change to the fake's data, say) in the server's own loop."""

        async def run() -> T:
            return change()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)


@contextlib.contextmanager
def serve_in_thread(**options: Any) -> Iterator[Served]:
    """A `FakeKantata(**options)` served from a thread; stopped on the way out."""
    started = threading.Event()
    box: dict[str, Any] = {}

    async def serve() -> None:
        stop = asyncio.Event()
        async with FakeKantata(**options) as fake:
            box["served"] = Served(fake, asyncio.get_running_loop())
            box["stop"] = stop
            started.set()
            await stop.wait()

    def run() -> None:
        try:
            asyncio.run(serve())
        finally:
            started.set()

    thread = threading.Thread(target=run, name="fake-kantata")
    thread.start()
    started.wait(10)
    assert "served" in box, "the fake server did not start"
    try:
        yield box["served"]
    finally:
        box["served"].loop.call_soon_threadsafe(box["stop"].set)
        thread.join(10)
        assert not thread.is_alive()


@contextlib.contextmanager
def cli_held_after_page_one(
    served: Served, args: list[str], env: dict[str, str]
) -> Iterator[tuple[subprocess.Popen[str], Callable[[], None]]]:
    """`python -m kantata_async *args` as a child process, and a `release` to call: until
    then, the server holds every page after the first, so the export stays mid-way."""
    release = asyncio.Event()  # belongs to the server's loop; only touched from it

    async def hold_after_page_one(request: RecordedRequest) -> None:
        if request.query.get("page") not in (None, "1"):
            await release.wait()

    def let_go() -> None:
        served.loop.call_soon_threadsafe(release.set)

    served.fake.on_request = hold_after_page_one
    proc = subprocess.Popen(
        [sys.executable, "-m", "kantata_async", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc, let_go
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        let_go()
