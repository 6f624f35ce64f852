"""The cattrs boundary: to_dict, from_dict and the strict validate."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from kantata_async import (
    Graph,
    PayloadError,
    Skill,
    User,
    WorkweekMembership,
    from_dict,
    to_dict,
    validate,
)
from kantata_async._convert import _unstructure_fields
from kantata_async._models.base import Record
from kantata_async.resources._registry import RESOURCES
from kantata_async.testing import INCLUDES, Dataset


def test_to_dict_gives_json_ready_values_and_keeps_extras() -> None:
    wm = from_dict(
        WorkweekMembership,
        {
            "id": 4,
            "user_id": 12,
            "start_date": "2026-01-04",
            "created_at": "2026-01-02T10:00:00Z",
            "added_by_api_later": {"x": 1},
        },
    )
    assert wm.id == "4"
    assert wm.start_date == date(2026, 1, 4)
    assert to_dict(wm) == {
        "id": "4",
        "user_id": "12",
        "start_date": "2026-01-04",
        "created_at": "2026-01-02T10:00:00Z",  # the server's own text, read or not
        "added_by_api_later": {"x": 1},
    }


def test_to_dict_leaves_out_absent_fields_but_keeps_nulls() -> None:
    user = from_dict(User, {"id": "1", "full_name": "Ann", "headline": None})
    assert to_dict(user) == {"id": "1", "full_name": "Ann", "headline": None}


def test_to_dict_refuses_a_placeholder() -> None:
    graph = Graph()
    [user] = graph.merge(
        {"results": [{"key": "users", "id": "1"}], "users": {"1": {"role_id": "9"}}}
    )
    assert isinstance(user, User)
    placeholder = user._links["role"]
    with pytest.raises(ValueError, match="not loaded"):
        to_dict(placeholder)


def test_from_dict_needs_an_object_with_an_id() -> None:
    with pytest.raises(ValueError, match="needs an 'id'"):
        from_dict(User, {"full_name": "Ann"})
    with pytest.raises(TypeError, match="JSON object"):
        from_dict(User, ["1"])  # type: ignore[arg-type]


def test_models_built_directly_leave_unset_fields_absent() -> None:
    user = User(id="3", full_name="Ann", last_site_activity=datetime(2026, 1, 1, tzinfo=UTC))
    assert user.full_name == "Ann"
    assert not hasattr(user, "headline")
    validate(user)


def test_validate_accepts_every_record_of_the_generated_dataset() -> None:
    data = Dataset(users=30, seed=11)
    graph = Graph()
    # Held: the graph holds records weakly, and a collection could free them mid-test.
    held = graph.merge(
        data.envelope(
            "users",
            list(data.records["users"]),
            include=list(INCLUDES["users"]),
            optional_fields=["bio", "last_site_activity", "classification"],
        )
    )
    checked = 0
    for key in graph.keys():  # noqa: SIM118 (Graph is not a mapping)
        for obj in graph.objects(key):
            validate(obj)
            checked += 1
    assert checked > 30 * 5
    assert len(held) == 30


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"id": "1", "name": 3}, "Skill.name"),
        ({"id": "1", "created_at": "yesterday"}, "created_at"),
        ({"id": "1", "surprise": True}, "extra fields found (surprise)"),
        ({"id": "1", "external_reference_ids": "1,2"}, "external_reference_ids"),
    ],
)
def test_validate_names_the_problem(data: dict[str, object], problem: str) -> None:
    with pytest.raises(PayloadError) as info:
        validate(from_dict(Skill, data))
    assert problem in str(info.value)
    assert "Skill '1'" in str(info.value)


def test_to_dict_does_not_depend_on_what_was_read_before() -> None:
    graph = Graph()
    payload = {
        "results": [
            {"key": "workweek_memberships", "id": "1"},
            {"key": "workweek_memberships", "id": "2"},
        ],
        "workweek_memberships": {
            "1": {"created_at": "2026-01-02T10:00:00Z", "start_date": "2026-01-04", "user_id": 3},
            "2": {"created_at": "2026-01-02T10:00:00Z", "start_date": "2026-01-04", "user_id": 3},
        },
    }
    read, unread = graph.merge(payload)
    assert isinstance(read, WorkweekMembership)
    assert read.created_at == datetime(2026, 1, 2, 10, tzinfo=UTC)
    assert read.start_date == date(2026, 1, 4)
    assert to_dict(read) | {"id": "2"} == to_dict(unread)
    # A later merge with new text replaces what was parsed from the old.
    graph.merge(
        {"results": [], "workweek_memberships": {"1": {"created_at": "2026-02-01T00:00:00Z"}}}
    )
    assert read.created_at == datetime(2026, 2, 1, tzinfo=UTC)


def test_every_record_the_fake_sends_fits_its_generated_model() -> None:
    """Each key the fake renders has a model, and every field it sends has the model's type:
    no field lands in `extra` and no value fails to convert (a `date` sent a time, say)."""
    data = Dataset(users=30, seed=11)
    # Lists that answer plain JSON, not an envelope: the client merges nothing from them.
    raw = {key for key, resource in RESOURCES.items() if resource.model is Record}
    checked: set[str] = set()
    for key, records in data.records.items():
        ids = list(records)[:20]
        if key in raw or not ids:
            continue
        graph = Graph()
        held = graph.merge(data.envelope(key, ids, per_page=20))
        assert held
        for obj in graph.objects(key):
            validate(obj)
        checked.add(key)
    assert raw == {"currencies", "followers", "insights_reports", "insights_report_exports"}
    assert {"access_group_memberships", "exchange_tables", "tags", "time_entries"} <= checked
    assert len(checked) > 90


@pytest.mark.parametrize(
    "data",
    [
        {"full_name": "Ann", "disabled": False, "manager_id": None},
        {"role_id": 3, "account_id": "1", "skill_ids": [1, "2", True]},
        {"role_id": True, "skill_ids": "1,2", "work_sample_ids": None, "odd": [7]},
        {"account_id": 2.5, "extra": {"user_id": 3}, "skill_ids": []},
        {"last_site_activity": datetime(2026, 1, 2, tzinfo=UTC), "role_id": 4},
        {"role_id": date(2026, 1, 2), "headline": (1, 2)},
    ],
)
def test_to_dict_matches_its_field_by_field_version(data: dict[str, object]) -> None:
    """The fast copy decides by the value types it meets; the plain pass is its oracle."""
    user = User(id="7")
    vars(user).update(data)

    row = to_dict(user)

    assert row == _unstructure_fields(User, vars(user))
    assert [(k, type(v)) for k, v in row.items()] == [
        (k, type(v)) for k, v in _unstructure_fields(User, vars(user)).items()
    ]
    if type(data.get("skill_ids")) is list:
        assert row["skill_ids"] is not data["skill_ids"]  # an id list is copied, as before
