"""The generated resources are typed: mypy --strict rejects what the API does not take."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, get_args, get_type_hints

import pytest
from mypy import api

import kantata_async  # noqa: F401 (fills the registry)
from kantata_async._query import Kind
from kantata_async.resources._registry import RESOURCES

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


# What a caller may pass for each wire kind: the TypedDict mypy checks and the table that
# `list()`, the export and the CLI read must say the same thing.
CALLER_TYPES: dict[Kind, object] = {
    Kind.BOOL: bool,
    Kind.INT: int,
    Kind.ID: str | int,
    Kind.IDS: Sequence[str | int],
    Kind.STR: str,
    Kind.STRS: Sequence[str],
    Kind.DATE: date,
    Kind.DATETIME: datetime,
    Kind.JSONISH: str | Mapping[str, Any],
}


@pytest.mark.parametrize("key", sorted(RESOURCES))
def test_the_typed_filters_and_the_wire_table_agree(key: str) -> None:
    resource = RESOURCES[key]
    hints = get_type_hints(resource.list, include_extras=True)
    (typed,) = get_args(hints["filters"])  # Unpack[<X>Filters]
    declared = get_type_hints(typed)
    assert set(declared) == set(resource.filters)
    assert {name: CALLER_TYPES[kind] for name, kind in resource.filters.items()} == declared
