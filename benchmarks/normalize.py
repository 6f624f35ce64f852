"""P1: what `Graph.merge` costs on top of decoding the JSON.

A 200-user page with every users include (account memberships, roles, managers, skills,
skill memberships, custom field values, external references, work samples), rendered by the
package's own dataset. Times `json.loads(bytes)` alone against `json.loads(bytes)` followed by
`Graph().merge(payload)` on the same bytes, interleaved in one run, fresh graph each time.

Target: merge + parse at most 2.0x parse alone.

    make bench            # or: .venv/bin/python benchmarks/normalize.py [--rounds N]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections import Counter

from kantata_async import Graph
from kantata_async.testing import INCLUDES, Dataset

TARGET = 2.0


# The page the performance notes measured: fewer sideloads, about a quarter of the bytes.
NOTES_INCLUDES = ["account_membership", "skill_memberships", "role", "skills"]


def page_bytes(users: int = 200, include: list[str] | None = None) -> bytes:
    data = Dataset(users=users, seed=1)
    ids = list(data.records["users"])[:users]
    wanted = list(INCLUDES["users"]) if include is None else include
    body = data.envelope("users", ids, include=wanted, per_page=users)
    return json.dumps(body).encode()


def best_of(fn: object, raw: bytes, rounds: int) -> float:
    assert callable(fn)
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn(raw)
        best = min(best, time.perf_counter() - start)
    return best


def parse_only(raw: bytes) -> None:
    json.loads(raw)


def parse_and_merge(raw: bytes) -> None:
    Graph().merge(json.loads(raw))


def measure(name: str, raw: bytes, rounds: int) -> float:
    payload = json.loads(raw)
    sizes = Counter({k: len(v) for k, v in payload.items() if isinstance(v, dict) and k != "meta"})
    print(f"{name} page: {len(raw) / 1024:.0f} KiB, records per key: {dict(sizes)}")
    del payload  # nothing but the bytes stays alive while timing: no extra work for the GC
    gc.collect()
    parse, merge = float("inf"), float("inf")
    ratios = []
    # Each round times both, back to back, so a slow spell of this shared machine hits the
    # two alike; the figure is the median of the rounds' ratios.
    for _ in range(rounds):
        p = best_of(parse_only, raw, 5)
        m = best_of(parse_and_merge, raw, 5)
        parse, merge = min(parse, p), min(merge, m)
        ratios.append(m / p)
    print(f"{name} json.loads alone, best:           {parse * 1e3:7.2f} ms")
    print(f"{name} json.loads + Graph.merge, best:   {merge * 1e3:7.2f} ms")
    print(f"{name} ratio of the bests: {merge / parse:.2f}x")
    return statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="interleaved rounds (default 30)")
    args = parser.parse_args()

    every = measure("P1", page_bytes(), args.rounds)
    notes = measure("P1 (notes' page)", page_bytes(include=NOTES_INCLUDES), args.rounds)
    verdict = "meets" if every <= TARGET else "MISSES"
    print(f"P1 median ratio, every include: {every:.2f}x ({verdict} the {TARGET:.1f}x target)")
    print(f"P1 median ratio, the performance notes' four includes: {notes:.2f}x")


if __name__ == "__main__":
    main()
