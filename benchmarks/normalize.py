"""P1: what `Graph.merge` costs on top of decoding the JSON.

A 200-user page with every users include (account memberships, roles, managers, skills,
skill memberships, custom field values, external references, work samples), rendered by the
package's own dataset. Times `json.loads(bytes)` alone against `json.loads(bytes)` followed by
`Graph().merge(payload)` on the same bytes, interleaved in one run, fresh graph each time;
and the re-merge: the same page merged again into a graph that already holds it (the update
path, as when an export or a sync fetches records it has seen).

Targets: merge + parse at most 2.0x parse alone, fresh and re-merged alike.

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


def remerger(raw: bytes) -> tuple[object, object]:
    """A graph that holds the page (alive), and a function merging the page into it again."""
    graph = Graph()
    held = graph.merge(json.loads(raw))

    def parse_and_remerge(raw: bytes) -> None:
        graph.merge(json.loads(raw))

    return held, parse_and_remerge


def measure(name: str, raw: bytes, rounds: int) -> tuple[float, float]:
    payload = json.loads(raw)
    sizes = Counter({k: len(v) for k, v in payload.items() if isinstance(v, dict) and k != "meta"})
    print(f"{name} page: {len(raw) / 1024:.0f} KiB, records per key: {dict(sizes)}")
    del payload  # nothing but the bytes stays alive while timing: no extra work for the GC
    gc.collect()
    held, parse_and_remerge = remerger(raw)
    parse, merge, again = float("inf"), float("inf"), float("inf")
    ratios, again_ratios = [], []
    # Each round times all three, back to back, so a slow spell of this shared machine hits
    # them alike; the figures are the medians of the rounds' ratios.
    for _ in range(rounds):
        p = best_of(parse_only, raw, 5)
        m = best_of(parse_and_merge, raw, 5)
        r = best_of(parse_and_remerge, raw, 5)
        parse, merge, again = min(parse, p), min(merge, m), min(again, r)
        ratios.append(m / p)
        again_ratios.append(r / p)
    del held
    print(f"{name} json.loads alone, best:              {parse * 1e3:7.2f} ms")
    print(f"{name} json.loads + Graph.merge, best:      {merge * 1e3:7.2f} ms")
    print(f"{name} json.loads + merge again, best:      {again * 1e3:7.2f} ms")
    print(f"{name} ratios of the bests: fresh {merge / parse:.2f}x, re-merge {again / parse:.2f}x")
    return statistics.median(ratios), statistics.median(again_ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="interleaved rounds (default 30)")
    args = parser.parse_args()

    results = {
        "every include": measure("P1", page_bytes(), args.rounds),
        "the performance notes' four includes": measure(
            "P1 (notes' page)", page_bytes(include=NOTES_INCLUDES), args.rounds
        ),
    }
    for page, (fresh, again) in results.items():
        for what, ratio in (("fresh merge", fresh), ("re-merge", again)):
            verdict = "meets" if ratio <= TARGET else "MISSES"
            print(f"P1 median ratio, {page}, {what}: {ratio:.2f}x ({verdict} {TARGET:.1f}x)")


if __name__ == "__main__":
    main()
