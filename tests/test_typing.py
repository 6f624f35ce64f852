"""The generated resources are typed: mypy --strict rejects what the API does not take."""

from __future__ import annotations

from pathlib import Path

from mypy import api

CALLS = """
from datetime import date
from kantata_async import KantataClient

async def calls(client: KantataClient) -> None:
    client.time_entries.list(workspace_id="5", include=["story.workspace"])
    client.time_entries.list(colour="red")
    client.time_entries.list(billable="yes")
    await client.time_entries.create(workspace_id=5, date_performed=date(2026, 1, 5))
    await client.workspaces.get("5", include=["participants"])
    client.nonexistent_collection
"""


def test_mypy_rejects_unknown_filters_bad_values_and_missing_fields(tmp_path: Path) -> None:
    source = tmp_path / "calls.py"
    source.write_text(CALLS, encoding="utf-8")
    out, _, status = api.run(["--strict", "--no-error-summary", str(source)])
    errors = [line.split(": error: ", 1)[1] for line in out.splitlines() if ": error: " in line]
    assert status == 1
    assert any('Unexpected keyword argument "colour"' in e for e in errors), errors
    assert any('"billable"' in e and "bool" in e for e in errors), errors
    assert any('Missing named argument "time_in_minutes"' in e for e in errors), errors
    assert any('"nonexistent_collection"' in e for e in errors), errors
    assert len(errors) == 4, errors  # the good calls type-check
