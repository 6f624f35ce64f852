"""P6: identical reads in flight share one request.

50 concurrent `users.get(id)` and 50 concurrent identical `users.list(only=[...])` calls (a
web backend's burst of identical requests; the ids are of 50 users the token sees, `id` the
third of them), all at once, against the fake server (50 ms of
latency, so that they overlap). Prints the requests that reached the server (target 2: one
per distinct query) and checks that every caller got the same objects.

    make bench        # or: .venv/bin/python benchmarks/coalesce.py
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter

from kantata_async import KantataClient, ListRequest, User
from kantata_async.testing import FakeKantata

TARGET = 2


async def measure(callers: int) -> tuple[Counter[str], int]:
    async with FakeKantata(users=500, latency=0.05) as fake:
        async with KantataClient(fake.token, base_url=fake.base_url) as client:
            ids = [user.id for user in await client.users.list(per_page=50).page(1)]
        fake.requests.clear()
        async with KantataClient(fake.token, base_url=fake.base_url) as client:
            gets = [client.users.get(ids[2]) for _ in range(callers)]
            lists = [client.users.list(only=ids) for _ in range(callers)]
            answers = await asyncio.gather(*gets, *(await_list(page) for page in lists))
        users, pages = answers[:callers], answers[callers:]
        assert all(user is users[0] for user in users)
        same = all(a is b for page in pages for a, b in zip(page, pages[0], strict=True))
        assert same and len(pages[0]) == len(ids), "callers got different objects"
        return Counter(f"{r.method} {r.path}" for r in fake.requests), len(gets) + len(lists)


async def await_list(listing: ListRequest[User]) -> list[User]:
    return (await listing).items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=50, help="callers of each kind (50)")
    args = parser.parse_args()
    requests, calls = asyncio.run(measure(args.callers))
    total = sum(requests.values())
    print(f"P6 {calls} concurrent calls: {args.callers} users.get(id), {args.callers} list(only=)")
    for what, count in sorted(requests.items()):
        print(f"P6   {what}: {count} request(s)")
    verdict = "meets" if total <= TARGET else "MISSES"
    print(f"P6 requests reaching the server: {total} ({verdict} the target of {TARGET})")


if __name__ == "__main__":
    main()
