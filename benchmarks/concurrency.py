"""P2: a 10,000-user walk with two includes against 50 ms of latency, at concurrency 8.

Prints the concurrent walk's time against the physical limit `ceil(pages / 8) x 50 ms`
(target at most 1.25x) and against a sequential page-by-page walk in the same run (target at
least 6x faster). The fake server runs in its own process.

    make bench        # or: .venv/bin/python benchmarks/concurrency.py [--users N]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time

from _server import fake_server

from kantata_async import KantataClient

LATENCY = 0.05
CONCURRENCY = 8
PER_PAGE = 200
INCLUDE = ["account_membership", "role"]


async def walk(base_url: str, token: str, concurrency: int) -> tuple[float, int, int]:
    async with KantataClient(token, base_url=base_url, max_concurrency=concurrency) as client:
        listing = client.users.list(
            include=INCLUDE, per_page=PER_PAGE, on_my_account=True, show_disabled=True
        )
        started = time.perf_counter()
        records = 0
        async for page in listing.pages(concurrency, first_window=concurrency):
            records += len(page.items)
        elapsed = time.perf_counter() - started
        return elapsed, records, listing.stats.pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    args = parser.parse_args()

    with fake_server(args.users, latency=LATENCY) as (base_url, token):
        # The first walk also pays for the fake server rendering each page (single-threaded
        # Python, about 2 ms a page, so concurrent requests queue behind each other). Later
        # walks get its cached pages, so they measure the client.
        cold, records, pages = asyncio.run(walk(base_url, token, CONCURRENCY))
        warm = min(asyncio.run(walk(base_url, token, CONCURRENCY))[0] for _ in range(3))
        sequential, seq_records, _ = asyncio.run(walk(base_url, token, 1))
    full_pages = math.ceil(records / PER_PAGE)
    limit = math.ceil(full_pages / CONCURRENCY) * LATENCY
    print(f"P2 {records} users ({seq_records} sequentially), {full_pages} pages of {PER_PAGE}")
    print(f"P2 includes {INCLUDE}, {LATENCY * 1e3:.0f} ms latency, concurrency {CONCURRENCY}")
    print(f"P2 requests made by the concurrent walk: {pages}")
    print(f"P2 physical limit:            {limit:6.3f} s  (ceil({full_pages} / 8) x 50 ms)")
    print(f"P2 concurrent, server cold:   {cold:6.3f} s  ({cold / limit:.2f}x the limit)")
    print(f"P2 concurrent, server warm:   {warm:6.3f} s  ({warm / limit:.2f}x the limit)")
    print(f"P2 sequential, server warm:   {sequential:6.3f} s")
    vs_limit = warm / limit
    speedup = sequential / warm
    verdict = "meets" if vs_limit <= 1.25 else "MISSES"
    print(f"P2 concurrent / limit: {vs_limit:.2f}x ({verdict} 1.25x)")
    verdict = "meets" if speedup >= 6 else "MISSES"
    print(f"P2 sequential / concurrent: {speedup:.1f}x ({verdict} 6x)")


if __name__ == "__main__":
    main()
