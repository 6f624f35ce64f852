"""examples/hours_per_project.py, run against a FakeKantata: its answer is the fake's data."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from test_examples import load

from kantata_async import KantataClient
from kantata_async.testing import FakeKantata

hours_example = load("hours_per_project")


async def test_hours_per_project_adds_up_the_fakes_time_entries(fake: FakeKantata) -> None:
    data = fake.dataset
    today = hours_example._today()
    since = today - timedelta(days=400)
    expected: dict[str, int] = defaultdict(int)
    for entry in data.records["time_entries"].values():
        if since <= date.fromisoformat(entry["date_performed"]) <= today:
            workspace = data.records["workspaces"].get(str(entry["workspace_id"]))
            title = (workspace or {}).get("title") or "(no project)"
            expected[title] += entry["time_in_minutes"] or 0
    assert len(expected) > 1
    async with KantataClient(fake.token, base_url=fake.base_url) as client:
        answer = await hours_example.hours_per_project(client, since)
    assert answer == {title: total / 60 for title, total in sorted(expected.items())}
