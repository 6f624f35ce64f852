"""P3: peak memory of a streaming export: 100,000 users against 10,000.

Each export runs in a fresh child process against the fake server (in its own process), with
two includes, writing NDJSON; the child reports its peak RSS. Targets: the 100,000-user export
peaks at most 20 % above the 10,000-user one, and under 150 MB.

    make bench        # or: .venv/bin/python benchmarks/memory.py [--small N --large N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from _server import fake_server

INCLUDE = ["account_membership", "role"]


def child(base_url: str, token: str) -> None:
    """Run one export; print its records and the process's peak RSS in MB as JSON."""
    from kantata_async import KantataClient
    from kantata_async.export import export

    async def run() -> int:
        async with KantataClient(token, base_url=base_url) as client:
            with tempfile.TemporaryDirectory() as tmp:
                summary = await export(
                    client,
                    "users",
                    Path(tmp) / "users.ndjson",
                    include=INCLUDE,
                    filters={"show_disabled": True},
                )
                return summary.records

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    records = asyncio.run(run())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"records": records, "peak_mb": peak, "before_mb": before}))


def measure(users: int) -> dict[str, float]:
    with fake_server(users) as (base_url, token):
        out = subprocess.run(
            [sys.executable, __file__, "--child", base_url, token],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)},
        )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--child", nargs=2, metavar=("BASE_URL", "TOKEN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    small = measure(args.small)
    large = measure(args.large)
    growth = large["peak_mb"] / small["peak_mb"] - 1
    print(f"P3 includes {INCLUDE}, NDJSON, the client in its own process")
    for r in (small, large):
        print(
            f"P3 {int(r['records']):>7,} users: peak RSS {r['peak_mb']:6.1f} MB "
            f"(after imports {r['before_mb']:5.1f} MB)"
        )
    ok = growth <= 0.20 and large["peak_mb"] < 150
    verdict = "meets" if ok else "MISSES"
    print(
        f"P3 growth: {growth * 100:+.1f} % at {large['peak_mb']:.1f} MB "
        f"({verdict} at most +20 % and under 150 MB)"
    )


if __name__ == "__main__":
    main()
