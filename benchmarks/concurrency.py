"""P2: a 10,000-user export with two includes against 50 ms of latency, at concurrency 8.

Prints the export's time (every row written, NDJSON) against the physical limit, and
against a sequential page-by-page walk in the same run (target at least 6x faster); also the
concurrent walk alone (pages merged, no rows written), to show what writing costs. The fake
server runs in its own process.

The limit: the walk asks for page 1 alone and learns the page count from it (a short list,
a bad token or a host that is down then costs one request, not a window of them), so it is
`(1 + ceil((pages - 1) / 8)) x 50 ms`, as the performance notes count it (target at most
1.25x). `ceil(pages / 8) x 50 ms`, the limit of a walk that guesses a window before page 1
answers, is printed beside it.

    make bench        # or: .venv/bin/python benchmarks/concurrency.py [--users N]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import time

from _server import fake_server

from kantata_async import KantataClient
from kantata_async.export import export

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
        async for page in listing.pages(concurrency):
            records += len(page.items)
        elapsed = time.perf_counter() - started
        return elapsed, records, listing.stats.pages


async def run_export(base_url: str, token: str, first_window: int = 1) -> float:
    async with KantataClient(token, base_url=base_url, max_concurrency=CONCURRENCY) as client:
        started = time.perf_counter()
        await export(
            client,
            "users",
            os.devnull,
            include=INCLUDE,
            filters={"on_my_account": True, "show_disabled": True},
            per_page=PER_PAGE,
            first_window=first_window,
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each (5)")
    args = parser.parse_args()

    with fake_server(args.users, latency=LATENCY) as (base_url, token):
        # The first run also pays for the fake server rendering each page (single-threaded
        # Python, about 2 ms a page, so concurrent requests queue behind each other). Later
        # runs get its cached pages, so they measure the client.
        cold = asyncio.run(run_export(base_url, token))
        exports = [asyncio.run(run_export(base_url, token)) for _ in range(args.runs)]
        windowed = [asyncio.run(run_export(base_url, token, CONCURRENCY)) for _ in range(args.runs)]
        walks = [asyncio.run(walk(base_url, token, CONCURRENCY)) for _ in range(args.runs)]
        sequential, seq_records, _ = asyncio.run(walk(base_url, token, 1))
    records, pages = walks[0][1], walks[0][2]
    full_pages = math.ceil(records / PER_PAGE)
    guessing = math.ceil(full_pages / CONCURRENCY) * LATENCY
    limit = (1 + math.ceil((full_pages - 1) / CONCURRENCY)) * LATENCY
    best, median = min(exports), statistics.median(exports)
    walk_best = min(w[0] for w in walks)
    print(f"P2 {records} users ({seq_records} sequentially), {full_pages} pages of {PER_PAGE}")
    print(f"P2 includes {INCLUDE}, {LATENCY * 1e3:.0f} ms latency, concurrency {CONCURRENCY}")
    print(f"P2 requests made by a concurrent walk: {pages}")
    print(
        f"P2 physical limit:             {limit:6.3f} s  "
        f"((1 + ceil({full_pages - 1} / 8)) x 50 ms: page 1, then the pages it announces)"
    )
    print(
        f"P2 limit guessing a window:    {guessing:6.3f} s  (ceil({full_pages} / 8) x 50 ms); "
        f"the export is {best / guessing:.2f}x that"
    )
    print(f"P2 export, server cold:        {cold:6.3f} s  ({cold / limit:.2f}x)")
    print(f"P2 export, best of {args.runs}:        {best:6.3f} s  ({best / limit:.2f}x)")
    print(f"P2 export, median of {args.runs}:      {median:6.3f} s  ({median / limit:.2f}x)")
    print(f"P2 walk alone, best of {args.runs}:    {walk_best:6.3f} s  ({walk_best / limit:.2f}x)")
    told = min(windowed)
    print(
        f"P2 export told the list is long (first_window=8), best of {args.runs}: {told:6.3f} s "
        f"({told / guessing:.2f}x the guessing limit)"
    )
    print(f"P2 sequential walk:            {sequential:6.3f} s")
    vs_limit = best / limit
    speedup = sequential / best
    verdict = "meets" if vs_limit <= 1.25 else "MISSES"
    print(f"P2 export / limit: {vs_limit:.2f}x ({verdict} 1.25x)")
    verdict = "meets" if speedup >= 6 else "MISSES"
    print(f"P2 sequential walk / export: {speedup:.1f}x ({verdict} 6x)")


if __name__ == "__main__":
    main()
