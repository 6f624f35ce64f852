"""`Graph.merge` by `updated_at`: per field, the value of the newest payload carrying it wins."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from conftest import envelope

from kantata_async import Graph

# -- updated_at ---------------------------------------------------------------------------


def _membership(stamp: str | None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": "1", **fields}
    if stamp is not None:
        body["updated_at"] = stamp
    return envelope("workweek_memberships", {"1": body})


def test_an_older_payload_does_not_overwrite_newer_fields(graph: Graph) -> None:
    [m] = graph.merge(_membership("2024-03-01T00:00:00Z", monday_minutes=480, end_date=None))

    graph.merge(
        _membership(
            "2024-02-01T00:00:00Z", monday_minutes=240, end_date="2024-12-31", friday_minutes=0
        )
    )

    assert m.monday_minutes == 480
    assert m.end_date is None
    assert m.friday_minutes == 0  # only the older payload carried it
    assert m.updated_at == datetime(2024, 3, 1, tzinfo=UTC)


def test_a_newer_payload_overwrites_what_it_carries(graph: Graph) -> None:
    [m] = graph.merge(_membership("2024-02-01T00:00:00Z", monday_minutes=240, friday_minutes=0))

    graph.merge(_membership("2024-03-01T00:00:00Z", monday_minutes=480))

    assert m.monday_minutes == 480
    assert m.friday_minutes == 0
    assert m.updated_at == datetime(2024, 3, 1, tzinfo=UTC)


def test_a_field_from_an_old_payload_yields_to_a_middle_one(graph: Graph) -> None:
    """newest (no field), oldest (field=1), middle (field=2): the middle one carried it last."""
    [m] = graph.merge(_membership("2024-03-01T00:00:00Z", monday_minutes=480))
    graph.merge(_membership("2024-01-01T00:00:00Z", friday_minutes=1))

    graph.merge(_membership("2024-02-01T00:00:00Z", friday_minutes=2))

    assert m.friday_minutes == 2
    assert m.monday_minutes == 480


def test_a_field_keeps_its_own_stamp_across_newer_payloads(graph: Graph) -> None:
    """friday_minutes came from Jan 1; a Mar 1 payload without it must not make it look newer."""
    [m] = graph.merge(_membership("2024-02-01T00:00:00Z", monday_minutes=480))
    graph.merge(_membership("2024-01-01T00:00:00Z", friday_minutes=1))
    graph.merge(_membership("2024-03-01T00:00:00Z", monday_minutes=500))

    graph.merge(_membership("2024-01-15T00:00:00Z", friday_minutes=2))

    assert m.friday_minutes == 2
    assert m.monday_minutes == 500


def test_stamps_compare_as_instants_across_offsets_and_naive_utc(graph: Graph) -> None:
    # 10:00+02:00 is 08:00Z, older than 09:00 naive (taken as UTC)
    [m] = graph.merge(_membership("2024-03-01T09:00:00", monday_minutes=480))

    graph.merge(_membership("2024-03-01T10:00:00+02:00", monday_minutes=1))

    assert m.monday_minutes == 480
    assert m.updated_at == datetime(2024, 3, 1, 9, tzinfo=UTC)


def test_unstamped_payloads_last_write_wins(graph: Graph) -> None:
    [m] = graph.merge(_membership(None, monday_minutes=480, friday_minutes=0))

    graph.merge(_membership(None, monday_minutes=240))
    graph.merge(_membership(None, friday_minutes=60))

    assert m.monday_minutes == 240
    assert m.friday_minutes == 60


def test_an_unstamped_payload_overwrites_a_stamped_one(graph: Graph) -> None:
    [m] = graph.merge(_membership("2024-03-01T00:00:00Z", monday_minutes=480))

    graph.merge(_membership(None, monday_minutes=240))

    assert m.monday_minutes == 240
    assert m.updated_at == datetime(2024, 3, 1, tzinfo=UTC)


def test_ordering_also_applies_to_records_whose_model_lacks_updated_at(graph: Graph) -> None:
    """`User` declares no `updated_at`; a stamped user still merges by stamp."""
    [user] = graph.merge(
        envelope("users", {"7": {"full_name": "New", "updated_at": "2024-03-01T00:00:00Z"}})
    )

    graph.merge(
        envelope("users", {"7": {"full_name": "Old", "updated_at": "2024-01-01T00:00:00Z"}})
    )

    assert user.full_name == "New"


def test_an_older_payload_can_still_fill_a_link(graph: Graph) -> None:
    [m] = graph.merge(_membership("2024-03-01T00:00:00Z", start_date="2024-01-01"))

    graph.merge(
        envelope(
            "workweek_memberships",
            {"1": {"updated_at": "2024-02-01T00:00:00Z", "workweek_id": "31", "user_id": 7}},
            workweeks={"31": {"id": "31", "monday_minutes": 480}},
            users={"7": {"id": "7", "full_name": "Ann"}},
        )
    )

    assert m.workweek.monday_minutes == 480
    assert m.user.full_name == "Ann"
    graph.mark_loaded(m.user, "workweek_memberships")
    assert m.user.workweek_memberships == [m]
