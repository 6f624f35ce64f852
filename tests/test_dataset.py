"""The seeded dataset renders envelopes the way the API shapes them."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from kantata_async.testing import INCLUDES, Dataset
from kantata_async.testing._collections import COLLECTIONS


def test_same_seed_same_data_other_seed_other_data() -> None:
    assert Dataset(users=25, seed=4).records == Dataset(users=25, seed=4).records
    assert Dataset(users=25, seed=4).records != Dataset(users=25, seed=5).records


def test_rejects_a_negative_size() -> None:
    with pytest.raises(ValueError, match="users must be >= 0"):
        Dataset(users=-1)


def test_envelope_meta_follows_kantata_arithmetic() -> None:
    data = Dataset(users=45, seed=1)
    ids = list(data.records["users"])[20:40]
    body = data.envelope("users", ids, count=45, page=2, per_page=20)
    assert body["count"] == 45
    assert body["meta"] == {"count": 45, "page_count": 3, "page_number": 2, "page_size": 20}
    assert body["results"] == [{"key": "users", "id": i} for i in ids]
    assert list(body["users"]) == ids


def test_an_empty_result_has_zero_page_count_and_page_number() -> None:
    body = Dataset(users=3).envelope("users", [], count=0, per_page=20)
    assert body["meta"] == {"count": 0, "page_count": 0, "page_number": 0, "page_size": 20}


def test_include_adds_ids_and_sideloads_and_drops_unknown_names() -> None:
    data = Dataset(users=10, seed=2)
    uid = "5"
    plain = data.envelope("users", [uid])
    assert "role_id" not in plain["users"][uid]
    assert "roles" not in plain
    body = data.envelope("users", [uid], include=["role", "skills", "no_such_thing"])
    record = body["users"][uid]
    assert record["role_id"] in body["roles"]
    assert set(record["skill_ids"]) == set(body["skills"])
    assert "no_such_thing" not in body
    assert "account_membership_id" not in record


def test_included_keys_exist_even_when_empty() -> None:
    data = Dataset(users=12, seed=3)
    top = next(u for u, r in data.records["users"].items() if r["manager_id"] is None)
    body = data.envelope("users", [top], include=["manager"])
    assert body["users"][top]["manager_id"] is None
    assert "users" in body


def test_optional_fields_appear_only_when_asked() -> None:
    data = Dataset(users=3, seed=1)
    assert "bio" not in data.envelope("users", ["1"])["users"]["1"]
    assert "bio" in data.envelope("users", ["1"], optional_fields=["bio"])["users"]["1"]


def test_workweek_membership_user_id_is_an_int_on_the_wire() -> None:
    data = Dataset(users=5, seed=1)
    wm_id = next(iter(data.records["workweek_memberships"]))
    body = data.envelope("workweek_memberships", [wm_id], include=["workweek"])
    record = body["workweek_memberships"][wm_id]
    assert isinstance(record["user_id"], int)
    assert record["workweek_id"] in body["workweeks"]


def test_every_include_name_resolves_to_generated_records() -> None:
    data = Dataset(users=40, seed=9)
    for key, includes in INCLUDES.items():
        ids = list(data.records[key])[:10]
        body = data.envelope(key, ids, include=list(includes))
        for name, inc in includes.items():
            assert inc.polymorphic or inc.target in body, (key, name)
            for i in ids:
                value = body[key][i].get(inc.field)
                for ref in value if isinstance(value, list) else [value]:
                    if ref is None:
                        continue
                    # A polymorphic include carries {"key", "id"}; a plain one the id.
                    target, tid = (ref["key"], ref["id"]) if inc.polymorphic else (inc.target, ref)
                    assert str(tid) in body[target], (key, name, tid)


def test_dataset_mutation_helpers_bump_the_revision_and_stamps() -> None:
    data = Dataset(users=30, seed=1)
    revision = data.revision
    user = data.add_user("Zoe New", email_address="zoe@example.com")
    assert data.revision > revision
    assert user["account_membership_id"] in data.records["account_memberships"]
    first, second = data.stamp(), data.stamp()
    assert first < second
    assert all(first > u["updated_at"] for u in data.records["users"].values() if u is not user)
    updated = data.update("users", user["id"], headline="New")
    assert updated["headline"] == "New" and updated["updated_at"] > second
    data.delete("users", user["id"])
    assert data.get("users", user["id"]) is None
    with pytest.raises(KeyError):
        data.delete("users", user["id"])
    with pytest.raises(KeyError):
        data.update("users", "nope", headline="x")
    before = data.revision
    data.changed()
    assert data.revision == before + 1

    def fixed() -> datetime:
        return datetime(2026, 5, 1, 12, tzinfo=UTC)

    assert (
        Dataset(users=30, seed=1, clock=fixed).stamp()
        == Dataset(users=30, seed=1, clock=fixed).stamp()
    )


def test_dataset_envelopes_copy_lists_unless_told_not_to() -> None:
    data = Dataset(users=5, seed=1)
    body = data.envelope("users", ["2"], include=["skills"])
    body["users"]["2"]["skill_ids"].append("999")
    assert "999" not in data.records["users"]["2"]["skill_ids"]
    shared = data.envelope("users", ["2"], include=["skills"], copy_lists=False)
    assert shared["users"]["2"]["skill_ids"] is data.records["users"]["2"]["skill_ids"]
    assert shared == data.envelope("users", ["2"], include=["skills"])


def test_dataset_memberships_form_a_timeline() -> None:
    data = Dataset(users=80, seed=5)
    for uid in data.records["users"]:
        mine = data.workweek_memberships_of(uid)
        assert mine and mine[-1]["end_date"] is None
        for earlier, later in itertools.pairwise(mine):
            end = date.fromisoformat(earlier["end_date"])
            assert end + timedelta(days=1) == date.fromisoformat(later["start_date"])


def test_records_linked_through_a_workspace_agree_on_it() -> None:
    """A time entry's story is in the entry's workspace, and so on for every include whose
    target carries a `workspace_id` of its own."""
    data = Dataset(users=60, seed=5)
    checked = 0
    for key, collection in COLLECTIONS.items():
        for include in collection.includes.values():
            if include.many or include.polymorphic or include.field == "workspace_id":
                continue
            targets = data.records.get(include.target, {})
            for record in data.records.get(key, {}).values():
                target = targets.get(str(record.get(include.field)))
                if target is None or "workspace_id" not in record:
                    continue
                if "workspace_id" in target:
                    assert str(target["workspace_id"]) == str(record["workspace_id"]), (
                        key,
                        record["id"],
                        include.field,
                    )
                    checked += 1
    assert checked > 100, checked
