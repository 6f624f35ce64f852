"""`make demo`'s last step: the account loaded into DuckDB, and a SQL answer printed over it."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from threaded import Served

from kantata_async import demo


def test_the_demo_loads_the_account_and_answers_hours_per_project(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert demo.QUERY is demo.HOURS_PER_PROJECT
    assert demo.load_and_ask(served.url, served.token, tmp_path) == 0
    printed = capfd.readouterr().out
    assert f"{demo.QUERY.question}, in SQL over kantata.duckdb:" in printed
    # The answer is the fake's own: hours per project from its time entries.
    records = served.fake.dataset.records
    minutes: dict[str, int] = defaultdict(int)
    for entry in records["time_entries"].values():
        minutes[entry["workspace_id"]] += entry["time_in_minutes"]
    hours = sorted(((-m / 60, records["workspaces"][w]["title"]) for w, m in minutes.items()))
    answer = printed.split("in SQL over kantata.duckdb:", 1)[1].splitlines()
    assert answer[1].split() == ["project", "hours"]
    rows = [line.strip().rsplit(maxsplit=1) for line in answer[2:]]
    assert len(rows) == min(8, len(hours))
    for (title, shown), (expected, title_expected) in zip(rows, hours, strict=False):
        assert title == title_expected
        assert abs(float(shown) + expected) <= 0.05 + 1e-9  # rounded to a tenth by DuckDB
