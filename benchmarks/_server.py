"""Run `python -m kantata_async.testing` in its own process for a benchmark.

A separate process keeps the fake server's CPU off the client's event loop, so the figures
measure the client, not the two competing for one core.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def fake_server(users: int, latency: float = 0.0, seed: int = 0) -> Iterator[tuple[str, str]]:
    """Start the fake server; yield (base_url, token); stop it on exit."""
    cmd = [
        sys.executable,
        "-m",
        "kantata_async.testing",
        "--users",
        str(users),
        "--seed",
        str(seed),
        "--port",
        "0",
        "--latency",
        str(latency),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        values: dict[str, str] = {}
        assert proc.stdout is not None
        while len(values) < 2:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the fake server exited early ({proc.wait()})")
            key, _, value = line.strip().partition("=")
            if key in ("KANTATA_BASE_URL", "KANTATA_TOKEN"):
                values[key] = value
        yield values["KANTATA_BASE_URL"], values["KANTATA_TOKEN"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
