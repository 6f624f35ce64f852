"""Fault matrix row 6: partial, duplicated, out-of-order payloads merge per field (Hypothesis)."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kantata_async import (
    FieldNotLoadedError,
    Graph,
    RelationNotLoadedError,
    WorkweekMembership,
    loaded_fields,
)

# == row 6: partial, duplicated, out-of-order payloads merge per field =====================

RECORD_IDS = ("1", "2", "3")
BASE = datetime(2024, 1, 1, tzinfo=UTC)
_DAYS = st.dates(date(2023, 1, 1), date(2025, 12, 31)).map(date.isoformat)
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "start_date": st.none() | _DAYS,
    "end_date": st.none() | _DAYS,
    "workweek_id": st.sampled_from(["31", "32", 33, None]),
    "user_id": st.sampled_from([7, 8, "7", "8", None]),
    "note": st.none() | st.text(max_size=3),  # not declared: lands in `extra`
}
DECLARED = [name for name in VALUES if name != "note"]


@attrs.frozen
class Version:
    """One state of a membership on the server: a unique updated_at and every field."""

    instant: datetime
    values: dict[str, Any]


@attrs.frozen
class Carried:
    """A version as one page carries it: some of its fields, its stamp in some format."""

    version: Version
    fields: frozenset[str]
    style: int


def _stamp(instant: datetime, style: int) -> str:
    if style == 0:
        return instant.isoformat().replace("+00:00", "Z")
    if style == 1:
        return instant.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()
    if style == 2:
        return instant.astimezone(timezone(timedelta(hours=-7))).isoformat()
    return instant.isoformat().removesuffix("+00:00")  # naive: taken as UTC


def _reads_as(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name.endswith("_date"):
        return date.fromisoformat(value)
    if name.endswith("_id"):
        return str(value)
    return value


@st.composite
def merge_histories(draw: st.DrawFn) -> tuple[bool, list[tuple[bool, dict[str, Carried]]]]:
    """(held by a workweek?, the pages in merge order: (memberships primary?, records)).

    Pages are drawn, then merged in a drawn sequence that may repeat them (duplicates).
    Memberships ride as sideloads of a users page only when a workweek holds them (the graph
    holds records weakly; a sideload nothing references would be freed at once).
    """
    counts = {rid: draw(st.integers(1, 4), label=f"versions of {rid}") for rid in RECORD_IDS}
    seconds = iter(
        draw(
            st.lists(
                st.integers(0, 10**7),
                min_size=sum(counts.values()),
                max_size=sum(counts.values()),
                unique=True,
            )
        )
    )
    versions = {
        rid: [
            Version(BASE + timedelta(seconds=next(seconds)), draw(st.fixed_dictionaries(VALUES)))
            for _ in range(n)
        ]
        for rid, n in counts.items()
    }
    held = draw(st.booleans(), label="held by a workweek")
    pages = []
    for _ in range(draw(st.integers(1, 6))):
        records = {}
        for rid in sorted(draw(st.sets(st.sampled_from(RECORD_IDS), min_size=1))):
            records[rid] = Carried(
                draw(st.sampled_from(versions[rid])),
                frozenset(draw(st.sets(st.sampled_from(list(VALUES))))),
                draw(st.integers(0, 3)),
            )
        primary = draw(st.booleans()) if held else True
        pages.append((primary, records))
    order = draw(st.lists(st.integers(0, len(pages) - 1), min_size=1, max_size=10))
    return held, [pages[i] for i in order]


def _page(primary: bool, records: dict[str, Carried]) -> dict[str, Any]:
    """A fresh envelope for the page (the graph adopts the dicts it merges)."""
    memberships = {
        rid: {
            "id": rid,
            "updated_at": _stamp(c.version.instant, c.style),
            **{name: copy.deepcopy(c.version.values[name]) for name in sorted(c.fields)},
        }
        for rid, c in records.items()
    }
    if primary:
        key, primaries = "workweek_memberships", memberships
        payload: dict[str, Any] = {}
    else:  # sideloaded under a users page
        key, primaries = "users", {"7": {"id": "7", "full_name": "Ann"}}
        payload = {"workweek_memberships": memberships}
    return {
        "count": len(primaries),
        "meta": {"count": len(primaries), "page_count": 1, "page_number": 1, "page_size": 200},
        "results": [{"key": key, "id": i} for i in primaries],
        key: primaries,
        **payload,
    }


@settings(deadline=None, max_examples=300, database=None)
@given(history=merge_histories(), read_between=st.booleans())
def test_merged_pages_keep_the_newest_value_of_each_field(
    history: tuple[bool, list[tuple[bool, dict[str, Carried]]]], read_between: bool
) -> None:
    held_by_workweek, pages = history
    graph = Graph()
    keep: list[Any] = graph.merge(
        {
            "results": [{"key": "users", "id": "7"}, {"key": "users", "id": "8"}],
            "users": {"7": {"full_name": "Ann"}, "8": {"full_name": "Bob"}},
        }
    )
    users = {u.id: u for u in keep}
    if held_by_workweek:  # the memberships exist as placeholders before they arrive
        keep += graph.merge(
            {
                "results": [{"key": "workweeks", "id": "900"}],
                "workweeks": {"900": {"workweek_membership_ids": list(RECORD_IDS)}},
            }
        )
    for primary, records in pages:
        keep += graph.merge(_page(primary, records))
        for rid in records:
            keep.append(graph.get(WorkweekMembership, rid))
            if read_between:  # converting and caching values must not disturb later merges
                membership = graph.get(WorkweekMembership, rid)
                for name in DECLARED:
                    getattr(membership, name, None)
                getattr(membership, "user", None)

    for rid in RECORD_IDS:
        carried = [records[rid] for _, records in pages if rid in records]
        membership = graph.get(WorkweekMembership, rid)
        if not carried:
            assert membership is None
            continue
        assert membership is not None
        # The oracle: per field, the value of the newest version that carried it.
        expected: dict[str, Any] = {}
        for c in sorted(carried, key=lambda c: c.version.instant):
            expected.update({name: c.version.values[name] for name in c.fields})
        for name in DECLARED:
            if name in expected:
                assert getattr(membership, name) == _reads_as(name, expected[name]), name
            else:
                with pytest.raises(FieldNotLoadedError):
                    getattr(membership, name)
        assert membership.extra == ({"note": expected["note"]} if "note" in expected else {})
        assert set(loaded_fields(membership)) == {"id", "updated_at", *expected} - {"note"}
        assert membership.updated_at == max(c.version.instant for c in carried)
        if "user_id" in expected:
            owner = _reads_as("user_id", expected["user_id"])
            assert membership.user is (users[owner] if owner else None)
        else:
            with pytest.raises(RelationNotLoadedError):
                _ = membership.user
