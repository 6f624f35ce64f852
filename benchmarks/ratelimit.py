"""P5: an export under a rate limit: adaptive concurrency against a fixed one, side by side.

The fake server runs in its own process with a token bucket of 50 requests a second (burst
10) and 20 ms of latency; the export walks the users the token sees of an account of 20,000
(about 90 pages of 200; NDJSON to /dev/null). The physical limit is `pages / rate` (about
1.8 s), from the pages the export walked. Prints, for the adaptive client (the default) and for
the same export with adaptivity off (`adaptive_rate=False`, 8 in flight whatever
happens), the wall time against that limit (target at most 1.2x) and the share of requests
answered 429 (target under 5 %), as the median and range of interleaved runs; then the
adaptive client exporting a second time, once it has learned the limit.

    make bench        # or: .venv/bin/python benchmarks/ratelimit.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from dataclasses import dataclass

from kantata_async import KantataClient
from kantata_async.export import export
from kantata_async.testing import FakeKantataProcess

PAGES = 100
PER_PAGE = 200
RATE = 50.0
BURST = 10
LATENCY = 0.02
CEILING = 8
FILTERS = {"show_disabled": True}


@dataclass
class Run:
    seconds: float
    requests: int
    limited: int
    records: int
    pages: int
    complete: bool
    reported: int | None

    @property
    def share(self) -> float:
        return self.limited / self.requests


async def export_with(client: KantataClient) -> Run:
    transport = client.transport
    requests, limited = transport.requests_sent, transport.rate_limited
    started = time.perf_counter()
    summary = await export(client, "users", os.devnull, filters=FILTERS, per_page=PER_PAGE)
    return Run(
        time.perf_counter() - started,
        transport.requests_sent - requests,
        transport.rate_limited - limited,
        summary.records,
        summary.pages,
        summary.complete,
        summary.reported_count,
    )


async def one(base_url: str, token: str, *, adaptive: bool, twice: bool = False) -> list[Run]:
    async with KantataClient(
        token, base_url=base_url, max_concurrency=CEILING, adaptive_rate=adaptive
    ) as client:
        runs = [await export_with(client)]
        if twice:
            runs.append(await export_with(client))
        return runs


def refill() -> None:
    """Let the server's bucket fill up again, so that every run starts alike."""
    time.sleep(2 * BURST / RATE + 0.5)


def line(name: str, runs: list[Run], limit: float) -> str:
    walls = [r.seconds / limit for r in runs]
    shares = [r.share * 100 for r in runs]
    limited = statistics.median(r.limited for r in runs)
    requests = statistics.median(r.requests for r in runs)
    return (
        f"P5 {name}: wall {statistics.median(walls):.2f}x the limit "
        f"({min(walls):.2f}-{max(walls):.2f}), 429s {statistics.median(shares):4.1f} % "
        f"({min(shares):.1f}-{max(shares):.1f}; median {limited:.0f} of {requests:.0f} requests)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each (5)")
    parser.add_argument(
        "--pages", type=int, default=PAGES, help=f"account size in pages of {PER_PAGE} ({PAGES})"
    )
    args = parser.parse_args()
    users = args.pages * PER_PAGE
    adaptive: list[Run] = []
    fixed: list[Run] = []
    again: list[Run] = []
    with FakeKantataProcess(users, latency=LATENCY, rate_limit=RATE, rate_burst=BURST) as server:
        url, token = server.base_url, server.token
        asyncio.run(one(url, token, adaptive=True))  # the server renders and caches every page
        for _ in range(args.runs):
            refill()
            first, second = asyncio.run(one(url, token, adaptive=True, twice=True))
            adaptive.append(first)
            again.append(second)
            refill()
            fixed += asyncio.run(one(url, token, adaptive=False))
    runs = adaptive + fixed + again
    # Every record the server counts, each once (the export dedupes, and would say so).
    assert all(r.complete and r.records == r.reported for r in runs), "an export lost records"
    pages = statistics.median(r.pages for r in runs)
    limit = pages / RATE
    print(
        f"P5 {pages:.0f} pages of {PER_PAGE} users ({adaptive[0].records:,} of {users:,} "
        "visible to the token), NDJSON, a fresh client per export"
    )
    print(f"P5 server: token bucket {RATE:.0f} requests/s (burst {BURST}), {LATENCY * 1e3:.0f} ms")
    print(f"P5 limit: pages / rate = {limit:.2f} s; medians of {args.runs} interleaved runs")
    print(line("adaptive (default)     ", adaptive, limit))
    print(line(f"fixed at {CEILING} (adaptive off)", fixed, limit))
    print(line("adaptive, same client again", again, limit))
    wall = statistics.median(r.seconds for r in adaptive) / limit
    share = statistics.median(r.share for r in adaptive)
    print(f"P5 adaptive wall / limit: {wall:.2f}x ({'meets' if wall <= 1.2 else 'MISSES'} 1.2x)")
    verdict = "meets" if share < 0.05 else "MISSES"
    print(f"P5 adaptive 429 share: {share * 100:.1f} % ({verdict} 5 %)")


if __name__ == "__main__":
    main()
