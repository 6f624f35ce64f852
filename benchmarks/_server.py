"""The fake server in its own process for a benchmark, so it does not compete with the client."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from kantata_async.testing import FakeKantataProcess


@contextlib.contextmanager
def fake_server(users: int, latency: float = 0.0, seed: int = 0) -> Iterator[tuple[str, str]]:
    """Start the fake server; yield (base_url, token); stop it on exit."""
    with FakeKantataProcess(users, seed=seed, latency=latency) as server:
        yield server.base_url, server.token
