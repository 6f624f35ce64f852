"""P4: what the client adds to each request, against a bare aiohttp GET loop.

Both loops send the same GET to the same loopback fake server (in its own process, no
latency), one request at a time, interleaved round by round. The bare loop reads the body and
decodes it with orjson; the client does that plus its checks, retry bookkeeping, error mapping
and the merge into its graph. Target: at most 1.15x.

    make bench        # or: .venv/bin/python benchmarks/overhead.py [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiohttp
import orjson
from _server import fake_server

from kantata_async import KantataClient

TARGET = 1.15


async def measure(base_url: str, token: str, requests: int, rounds: int) -> tuple[float, float]:
    url = base_url + "users/1"
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    bare_best = client_best = float("inf")
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=8)) as session,
        KantataClient(token, base_url=base_url) as client,
    ):
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in range(requests):
                async with session.get(url, headers=headers) as resp:
                    orjson.loads(await resp.read())
            bare_best = min(bare_best, (time.perf_counter() - started) / requests)

            started = time.perf_counter()
            for _ in range(requests):
                await client.users.get("1")
            client_best = min(client_best, (time.perf_counter() - started) / requests)
    return bare_best, client_best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per round (300)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (7)")
    args = parser.parse_args()
    with fake_server(100) as (base_url, token):
        bare, client = asyncio.run(measure(base_url, token, args.requests, args.rounds))
    ratio = client / bare
    print(f"P4 bare aiohttp GET + orjson:  {bare * 1e6:7.1f} us per request")
    print(f"P4 KantataClient.users.get:    {client * 1e6:7.1f} us per request")
    verdict = "meets" if ratio <= TARGET else "MISSES"
    print(f"P4 ratio: {ratio:.2f}x ({verdict} the {TARGET:.2f}x target)")


if __name__ == "__main__":
    main()
