"""`FakeKantataProcess`: the fake server in a child process, for demos and benchmarks.

A separate process keeps the server's CPU off the event loop of the client being measured or
shown. It runs `python -m kantata_async.testing` and reads the base URL and token it prints.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from types import TracebackType
from typing import IO

__all__ = ["FakeKantataProcess"]


class FakeKantataProcess:
    """`python -m kantata_async.testing` as a child process, stopped on exit.

        with FakeKantataProcess(users=10_000, latency=0.05) as server:
            async with KantataClient(server.token, base_url=server.base_url) as client: ...

    `ignore_unmodelled` is `FakeKantata`'s switch; `rate_limit` and `rate_burst` set the
    server's token bucket (`FakeKantata.rate_limit`). Raises `RuntimeError` when the server
    does not start within `start_timeout` seconds.
    """

    def __init__(
        self,
        users: int = 100,
        *,
        seed: int = 0,
        latency: float = 0.0,
        rate_limit: float | None = None,
        rate_burst: int | None = None,
        start_timeout: float = 120.0,
        ignore_unmodelled: bool = False,
    ) -> None:
        self.users = users
        self.seed = seed
        self.latency = latency
        self.ignore_unmodelled = ignore_unmodelled
        self.rate_limit = rate_limit
        self.rate_burst = rate_burst
        self.start_timeout = start_timeout
        self.base_url = ""
        self.token = ""
        self.process: subprocess.Popen[str] | None = None
        self._drainer: threading.Thread | None = None

    def start(self) -> None:
        """Start the process and wait until it listens."""
        limits = [] if self.rate_limit is None else ["--rate-limit", str(self.rate_limit)]
        if self.rate_burst is not None:
            limits += ["--rate-burst", str(self.rate_burst)]
        self.process = server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kantata_async.testing",
                "--users",
                str(self.users),
                "--seed",
                str(self.seed),
                "--latency",
                str(self.latency),
                *limits,
                "--port",
                "0",
                *(["--ignore-unmodelled"] if self.ignore_unmodelled else []),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None
        banner: dict[str, str] = {}
        deadline = time.monotonic() + self.start_timeout
        # It prints KEY=value lines once it listens; the two needed here are among them.
        while not {"KANTATA_BASE_URL", "KANTATA_TOKEN"} <= banner.keys():
            line = server.stdout.readline()
            if not line or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the fake Kantata server did not start (see its error above)")
            key, sep, value = line.strip().partition("=")
            if sep:
                banner[key] = value
        # Keep reading whatever else it prints, so that a full pipe can never block it.
        self._drainer = threading.Thread(target=_drain, args=(server.stdout,), daemon=True)
        self._drainer.start()
        self.base_url = banner["KANTATA_BASE_URL"]
        self.token = banner["KANTATA_TOKEN"]

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 5 s), reap it and close its pipe."""
        server = self.process
        if server is None:
            return
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        # The pipe ends with the process: the drainer closes it, or nobody has read it yet.
        if self._drainer is not None:
            self._drainer.join(timeout=5)
        elif server.stdout is not None:
            server.stdout.close()

    def __enter__(self) -> FakeKantataProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _drain(stream: IO[str]) -> None:
    with stream:
        for _ in stream:
            pass
