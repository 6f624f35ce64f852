"""`Graph.merge`: the result list and identity, absent vs null fields, converted values."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import envelope, users_page, workweek_memberships_page
from payloads import Payload

from kantata_async import (
    AccountMembership,
    CustomFieldValue,
    ExternalReference,
    FieldNotLoadedError,
    Graph,
    KantataError,
    NotLoadedError,
    Role,
    Skill,
    SkillMembership,
    User,
    WorkSample,
    Workweek,
    is_loaded,
    loaded_fields,
)

# -- the result list and identity ---------------------------------------------------------


def test_merge_returns_the_primary_records_in_results_order(graph: Graph) -> None:
    payload = users_page()
    payload["results"].reverse()  # results order, not map order, decides

    out = graph.merge(payload)

    assert [type(o) for o in out] == [User, User]
    assert [o.id for o in out] == ["9", "7"]
    assert out[1].full_name == "Ann Archer"


def test_every_top_level_key_becomes_its_model_class(graph: Graph) -> None:
    held = graph.merge(users_page())

    expected = {
        ("users", "8"): User,
        ("account_memberships", "70"): AccountMembership,
        ("skill_memberships", "50"): SkillMembership,
        ("skills", "5"): Skill,
        ("roles", "3"): Role,
        ("custom_field_values", "300"): CustomFieldValue,
        ("external_references", "400"): ExternalReference,
        ("work_samples", "500"): WorkSample,
    }
    for (key, id_), cls in expected.items():
        obj = graph.get(key, id_)
        assert type(obj) is cls, (key, id_)
        assert obj.id == id_
    assert held[0].id == "7"


def test_get_accepts_a_model_class_or_key_and_int_ids(graph: Graph) -> None:
    [user, _] = graph.merge(users_page())

    assert graph.get(User, "7") is user
    assert graph.get("users", "7") is user
    assert graph.get(User, 7) is user
    assert graph.get(User, "999") is None
    assert graph.get("no_such_key", "7") is None


def test_merging_the_same_id_again_updates_the_same_instance(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7", "full_name": "Ann"}}))

    [again] = graph.merge(envelope("users", {"7": {"id": "7", "full_name": "Ann Archer"}}))

    assert again is user
    assert user.full_name == "Ann Archer"
    assert graph.count(User) == 1


def test_an_unchanged_record_merged_again_keeps_its_links(graph: Graph) -> None:
    def page() -> Payload:
        return envelope(
            "users",
            {"7": {"full_name": "Ann", "role_id": "3"}},
            roles={"3": {"name": "Designer"}},
        )

    [user] = graph.merge(page())
    role = user.role

    assert graph.merge(page()) == [user]
    assert user.role is role
    assert user.full_name == "Ann"

    # After a delete, the same answer links to what the graph holds now, as any answer does.
    graph.forget(Role, "3")
    graph.merge(envelope("users", {"7": {"full_name": "Ann", "role_id": "3"}}))
    with pytest.raises(KantataError):
        _ = user.role  # a placeholder: role 3 is gone from the graph
    assert graph.get(Role, "3") is None


def test_a_sideloaded_record_is_the_same_object_as_the_primary_one(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7", "full_name": "Ann"}}))

    [membership, _] = graph.merge(workweek_memberships_page())

    assert membership.user is user
    assert user.full_name == "Ann Archer"  # the sideload updated it in place


def test_the_graph_adopts_the_payloads_record_dicts(graph: Graph) -> None:
    record = {"full_name": "Ann"}
    payload = envelope("users", {"7": record})

    [user] = graph.merge(payload)

    assert vars(user) is record
    assert record["id"] == "7"  # the payload was mutated: the id was filled in


# -- absent vs null -----------------------------------------------------------------------


def test_present_keys_overwrite_and_absent_keys_keep_their_value(graph: Graph) -> None:
    [user] = graph.merge(
        envelope("users", {"7": {"id": "7", "full_name": "Ann", "headline": "Designer"}})
    )

    graph.merge(envelope("users", {"7": {"id": "7", "headline": "Art Director", "city": "Oslo"}}))

    assert user.full_name == "Ann"
    assert user.headline == "Art Director"
    assert user.city == "Oslo"


def test_an_explicit_null_overwrites_with_none(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7", "headline": "Designer"}}))

    graph.merge(envelope("users", {"7": {"id": "7", "headline": None}}))

    assert user.headline is None
    assert is_loaded(user, "headline")


def test_a_field_never_carried_raises_field_not_loaded(graph: Graph) -> None:
    [user, _] = graph.merge(users_page())

    with pytest.raises(FieldNotLoadedError) as info:
        _ = user.website

    err = info.value
    assert isinstance(err, NotLoadedError)
    assert isinstance(err, AttributeError)
    assert isinstance(err, KantataError)
    assert err.field == "website"
    assert "users/7.website" in str(err)
    assert "optional_fields=['website']" in str(err)


def test_a_field_that_is_not_optional_is_never_suggested_as_one(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7"}}))

    with pytest.raises(FieldNotLoadedError) as info:
        _ = user.headline

    assert "optional_fields" not in str(info.value)


def test_not_loaded_fields_work_with_getattr_default_and_hasattr(graph: Graph) -> None:
    [user, _] = graph.merge(users_page())

    assert getattr(user, "website", "n/a") == "n/a"
    assert not hasattr(user, "website")
    assert hasattr(user, "bio")  # explicit null: loaded
    assert user.bio is None


@pytest.mark.parametrize("field", ["account_membership_id", "skill_ids", "last_site_activity"])
def test_converted_fields_also_raise_when_absent(graph: Graph, field: str) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7"}}))

    with pytest.raises(FieldNotLoadedError, match=rf"users/7\.{field}"):
        getattr(user, field)


def test_is_loaded_and_loaded_fields(graph: Graph) -> None:
    [_, cy] = graph.merge(users_page())

    assert is_loaded(cy, "headline")  # null counts as loaded
    assert not is_loaded(cy, "bio")
    assert is_loaded(cy, "role")  # role_id: null arrived
    fields = loaded_fields(cy)
    assert fields["headline"] is None
    assert fields["skill_ids"] == []
    assert "bio" not in fields
    assert not any(k.startswith(("@", "~")) for k in fields)


def test_loaded_fields_lists_declared_fields_only_and_converted(graph: Graph) -> None:
    [membership, _] = graph.merge(workweek_memberships_page())

    fields = loaded_fields(membership)

    assert fields == {
        "id": "21",
        "created_at": datetime(2024, 1, 2, 10, tzinfo=UTC),
        "updated_at": datetime(2024, 1, 5, 10, tzinfo=UTC),
        "start_date": date(2024, 1, 1),
        "end_date": date(2024, 6, 30),
        "user_id": "7",
        "workweek_id": "31",
    }


# -- conversions --------------------------------------------------------------------------


def test_int_ids_read_as_str(graph: Graph) -> None:
    [membership, _] = graph.merge(workweek_memberships_page())
    [user, _] = graph.merge(users_page())
    value = graph.get(CustomFieldValue, "300")
    assert value is not None

    assert membership.user_id == "7"
    assert value.subject_id == "7"
    assert value.account_id == "11"
    assert user.id == "7"


def test_int_ids_in_lists_bodies_and_results_read_as_str(graph: Graph) -> None:
    payload = envelope("users", {"7": {"id": 7, "skill_ids": [5, "6"], "work_sample_ids": None}})
    payload["results"] = [{"key": "users", "id": 7}]  # an int id in results, too

    [user] = graph.merge(payload)

    assert user.id == "7"
    assert graph.get(User, "7") is user
    assert user.skill_ids == ["5", "6"]
    assert user.work_sample_ids is None


def test_dates_read_as_date(graph: Graph) -> None:
    [first, second] = graph.merge(workweek_memberships_page())
    workweek = graph.get(Workweek, "31")
    assert workweek is not None

    assert first.start_date == date(2024, 1, 1)
    assert type(first.start_date) is date
    assert first.end_date == date(2024, 6, 30)
    assert second.end_date is None
    assert workweek.start_date == date(2024, 1, 1)


def test_datetimes_are_timezone_aware(graph: Graph) -> None:
    [user, _] = graph.merge(users_page())
    membership = graph.get(AccountMembership, "70")
    assert membership is not None

    assert user.last_site_activity == datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
    created = membership.created_at
    assert created.utcoffset() == timedelta(hours=-8)
    assert created == datetime(2023, 1, 10, 16, tzinfo=UTC)
    assert membership.disabled_at is None


def test_naive_datetimes_are_taken_as_utc(graph: Graph) -> None:
    [membership] = graph.merge(
        envelope("workweek_memberships", {"1": {"created_at": "2024-05-06T07:08:09"}})
    )

    assert membership.created_at == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert membership.created_at.tzinfo is not None


def test_a_later_merge_replaces_an_already_converted_value(graph: Graph) -> None:
    [membership] = graph.merge(
        envelope("workweek_memberships", {"1": {"start_date": "2024-01-01", "user_id": 7}})
    )
    assert membership.start_date == date(2024, 1, 1)  # converted and cached
    assert membership.user_id == "7"

    graph.merge(envelope("workweek_memberships", {"1": {"start_date": "2024-02-01", "user_id": 8}}))

    assert membership.start_date == date(2024, 2, 1)
    assert membership.user_id == "8"


def test_plain_values_are_kept_as_sent(graph: Graph) -> None:
    [user, _] = graph.merge(users_page())
    value = graph.get(CustomFieldValue, "300")
    skill = graph.get(Skill, "5")
    assert value is not None
    assert skill is not None

    assert value.value == [31]
    assert value.subject_ref == {"key": "users", "id": "7"}
    assert skill.max_level == "5"
    assert user.city == "Oakland"
