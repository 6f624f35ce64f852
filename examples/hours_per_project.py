"""Hours logged per project this month, from time entries and their workspaces.

    KANTATA_TOKEN=... python examples/hours_per_project.py [--since 2026-11-01]

Every collection is a typed resource on the client: `client.time_entries.list(...)` takes
each filter Kantata documents as a keyword (an unknown one is a type error), and
`include=["workspace"]` links each entry to its workspace in the same graph.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections import defaultdict
from datetime import UTC, date, datetime

from kantata_async import KantataClient
from kantata_async.models import TimeEntry, Workspace

DEFAULT_BASE_URL = "https://api.mavenlink.com/api/v1/"


async def hours_per_project(client: KantataClient, since: date) -> dict[str, float]:
    """Hours per workspace title, for the entries performed on or after `since`."""
    minutes: dict[str, int] = defaultdict(int)
    entries = client.time_entries.list(
        include=["workspace", "user"],
        date_performed_between=f"{since.isoformat()}:{_today().isoformat()}",
        order="date_performed:desc",
    )
    async for entry in entries:
        workspace = _workspace(entry)
        title = (workspace.title if workspace is not None else None) or "(no project)"
        minutes[title] += entry.time_in_minutes or 0
    return {title: total / 60 for title, total in sorted(minutes.items())}


def _today() -> date:
    return datetime.now(UTC).date()


def _workspace(entry: TimeEntry) -> Workspace | None:
    return entry.workspace


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--since", type=date.fromisoformat, default=_today().replace(day=1))
    args = parser.parse_args()
    token = os.environ["KANTATA_TOKEN"]
    base_url = os.environ.get("KANTATA_BASE_URL", DEFAULT_BASE_URL)
    async with KantataClient(token, base_url=base_url) as client:
        for title, hours in (await hours_per_project(client, args.since)).items():
            print(f"{hours:8.1f} h  {title}")


if __name__ == "__main__":
    asyncio.run(main())
