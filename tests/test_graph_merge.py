"""`Graph.merge`: identity, in-place updates, absent vs null, conversions, odd envelopes."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from conftest import envelope, users_page, workweek_memberships_page

from kantata_async import (
    AccountMembership,
    CustomFieldValue,
    ExternalReference,
    FieldNotLoadedError,
    Graph,
    KantataError,
    NotLoadedError,
    PayloadError,
    Record,
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


# -- extras and unknown keys --------------------------------------------------------------


def test_unknown_fields_are_kept_in_extra(graph: Graph) -> None:
    [user, cy] = graph.merge(users_page())

    assert user.extra == {"generic": False, "update_whitelist": ["full_name", "headline"]}
    assert cy.extra == {}


def test_extra_follows_later_merges(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7", "generic": False}}))

    graph.merge(envelope("users", {"7": {"id": "7", "generic": True, "disabled_by": "ops"}}))

    assert user.extra == {"generic": True, "disabled_by": "ops"}


def test_unknown_top_level_keys_become_generic_records(graph: Graph) -> None:
    payload = users_page()
    payload["gadgets"] = {"1": {"id": "1", "title": "Rebrand", "participant_ids": ["7"]}}
    payload["results"].append({"key": "gadgets", "id": "1"})  # results may mix keys

    held = graph.merge(payload)

    gadget = graph.get("gadgets", "1")
    assert held[2] is gadget
    assert isinstance(gadget, Record)
    assert type(gadget) is not Record  # a subclass made for the key
    assert gadget.id == "1"
    assert gadget.extra == {"title": "Rebrand", "participant_ids": ["7"]}
    assert loaded_fields(gadget) == {"id": "1"}
    assert graph.count("gadgets") == 1
    assert [type(o) for o in held[:2]] == [User, User]


def test_unknown_key_as_primary_and_one_class_per_key(graph: Graph) -> None:
    [first] = graph.merge(envelope("gizmos", {"1": {"id": "1", "title": "Kickoff"}}))
    [second] = graph.merge(envelope("gizmos", {"2": {"id": "2", "title": "Wrap-up"}}))
    [other] = graph.merge(envelope("gadgets", {"1": {"id": "1", "title": "Rebrand"}}))

    assert type(first) is type(second)
    assert type(first) is not type(other)
    assert first.extra["title"] == "Kickoff"
    assert graph.get("gizmos", "1") is first
    assert graph.get("gadgets", "1") is other


def test_a_record_without_id_gets_it_from_its_map_key(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"full_name": "Ann"}}))

    assert user.id == "7"
    assert graph.get(User, "7") is user


def test_count_may_disagree_and_envelope_keys_are_not_records(graph: Graph) -> None:
    payload = users_page()
    payload["count"] = 3
    payload["meta"]["count"] = 3

    out = graph.merge(payload)

    assert [u.id for u in out] == ["7", "9"]
    keys = graph.keys()
    assert "meta" not in keys
    assert "count" not in keys
    assert "results" not in keys


@pytest.mark.parametrize(
    "junk",
    [
        ["not", "a", "map"],
        {"1": "not a record"},
        {"1": {"id": "1"}, "2": None},
        5,
        "text",
        None,
    ],
)
def test_top_level_keys_that_are_not_maps_of_records_are_skipped(graph: Graph, junk: Any) -> None:
    payload = users_page()
    payload["warnings"] = junk

    out = graph.merge(payload)

    assert [u.id for u in out] == ["7", "9"]
    assert graph.count("warnings") == 0
    assert graph.get("warnings", "1") is None


def test_an_empty_include_map_is_fine(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7", "skill_ids": []}}, skills={}))

    assert user.skills == []


def test_a_payload_without_results_merges_and_returns_nothing(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7", "full_name": "Ann"}}))

    out = graph.merge({"users": {"7": {"id": "7", "full_name": "Ann Archer"}}})

    assert out == []
    assert user.full_name == "Ann Archer"


def test_primary_and_sideload_of_the_same_type_share_the_key(graph: Graph) -> None:
    payload = envelope(
        "users",
        {"7": {"id": "7", "full_name": "Ann", "manager_id": "8"}},
        users={"8": {"id": "8", "full_name": "Bob Boss"}},
    )
    assert payload["results"] == [{"key": "users", "id": "7"}]

    out = graph.merge(payload)

    assert [u.id for u in out] == ["7"]
    [user] = out
    manager = graph.get(User, "8")
    assert manager is not None
    assert user.manager is manager
    assert manager.full_name == "Bob Boss"
    assert graph.count(User) == 2


def test_objects_and_count(graph: Graph) -> None:
    held = graph.merge(users_page())

    assert sorted(u.id for u in graph.objects(User)) == ["7", "8", "9"]
    assert sorted(u.id for u in graph.objects("users")) == ["7", "8", "9"]
    assert graph.count("users") == 3
    assert graph.count(Skill) == 2
    assert graph.count("workweeks") == 0
    assert held


def test_keys_lists_only_the_top_level_keys_seen(graph: Graph) -> None:
    held = graph.merge(envelope("users", {"7": {"full_name": "Ann"}}))
    assert sorted(graph.keys()) == ["users"]

    held += graph.merge(envelope("roles", {"3": {"name": "Designer"}}))

    assert sorted(graph.keys()) == ["roles", "users"]


def test_placeholders_are_not_visible_as_records(graph: Graph) -> None:
    # role 3 and manager 8 are named but never carried
    [user] = graph.merge(envelope("users", {"7": {"id": "7", "role_id": "3", "manager_id": "8"}}))

    assert graph.get(Role, "3") is None
    assert graph.count(Role) == 0
    assert graph.get(User, "8") is None
    assert [u.id for u in graph.objects(User)] == ["7"]
    assert user.role_id == "3"


def test_two_graphs_are_independent() -> None:
    first, second = Graph(), Graph()

    [a] = first.merge(envelope("users", {"7": {"id": "7", "full_name": "Ann"}}))
    [b] = second.merge(envelope("users", {"7": {"id": "7", "full_name": "Other Ann"}}))

    assert a is not b
    assert a.full_name == "Ann"
    assert first.get(User, "7") is a
    assert second.get(User, "7") is b


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


# -- PayloadError -------------------------------------------------------------------------


def _seeded() -> tuple[Graph, list[Any]]:
    graph = Graph()
    held = graph.merge(users_page())
    return graph, held


def _snapshot(graph: Graph) -> dict[str, Any]:
    keys = sorted(graph.keys())
    return {
        "keys": keys,
        "counts": {key: graph.count(key) for key in keys},
        "records": {
            key: {obj.id: copy.deepcopy(loaded_fields(obj)) for obj in graph.objects(key)}
            for key in keys
        },
    }


def _with_update(bad: dict[str, Any]) -> dict[str, Any]:
    """A payload that would change user 7, add a role and a new key, were it merged."""
    payload = {
        "users": {"7": {"full_name": "Changed", "role_id": "4"}},
        "roles": {"4": {"name": "Intruder"}},
        "workspaces": {"1": {"title": "Should not appear"}},
    }
    payload.update(bad)
    return payload


BAD_PAYLOADS = {
    "results is a dict": _with_update({"results": {"key": "users", "id": "7"}}),
    "results is a string": _with_update({"results": "users/7"}),
    "results is null": _with_update({"results": None}),
    "entry lacks key": _with_update({"results": [{"key": "users", "id": "7"}, {"id": "7"}]}),
    "entry lacks id": _with_update({"results": [{"key": "users"}]}),
    "entry is not an object": _with_update({"results": [["users", "7"]]}),
    "names a missing id": _with_update(
        {"results": [{"key": "users", "id": "7"}, {"key": "users", "id": "99"}]}
    ),
    "names a missing key": _with_update({"results": [{"key": "workweeks", "id": "7"}]}),
    "names a key that is not a map of records": _with_update(
        {"results": [{"key": "notes", "id": "1"}], "notes": {"1": "text"}}
    ),
}


@pytest.mark.parametrize("bad", list(BAD_PAYLOADS.values()), ids=list(BAD_PAYLOADS))
def test_bad_envelopes_raise_payload_error_and_change_nothing(bad: dict[str, Any]) -> None:
    graph, held = _seeded()
    before = _snapshot(graph)
    untouched = copy.deepcopy(bad)

    with pytest.raises(PayloadError):
        graph.merge(bad)

    assert _snapshot(graph) == before
    assert held[0].full_name == "Ann Archer"
    assert held[0].role.name == "Designer"
    assert graph.get(Role, "4") is None
    assert graph.get("workspaces", "1") is None
    assert bad == untouched  # nothing adopted, no id filled in


@pytest.mark.parametrize("bad", [["users"], "users", None, 7, ({"results": []},)])
def test_a_payload_that_is_not_an_object_raises_payload_error(bad: Any) -> None:
    graph, _held = _seeded()
    before = _snapshot(graph)

    with pytest.raises(PayloadError):
        graph.merge(bad)

    assert _snapshot(graph) == before


def test_payload_error_is_a_value_error_and_names_the_missing_record(graph: Graph) -> None:
    payload = envelope("users", {"7": {"id": "7"}})
    payload["results"].append({"key": "users", "id": "99"})

    with pytest.raises(ValueError, match="users/99") as info:
        graph.merge(payload)

    assert isinstance(info.value, PayloadError)
    assert isinstance(info.value, KantataError)
    assert graph.get(User, "7") is None
    assert graph.count(User) == 0
