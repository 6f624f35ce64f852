"""Relations not loaded or dangling, `mark_loaded`, `forget`, and reprs of partial objects."""

from __future__ import annotations

import pytest
from conftest import envelope, users_page, workweek_memberships_page

from kantata_async import (
    AccountMembership,
    CustomFieldValue,
    DanglingReferenceError,
    Graph,
    KantataError,
    NotLoadedError,
    RelationNotLoadedError,
    Workweek,
    WorkweekMembership,
    is_loaded,
)

# -- not loaded / dangling ----------------------------------------------------------------


def test_a_relation_whose_ids_never_arrived_is_not_loaded(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7", "full_name": "Ann"}}))

    with pytest.raises(RelationNotLoadedError) as info:
        _ = user.role

    err = info.value
    assert isinstance(err, NotLoadedError)
    assert isinstance(err, AttributeError)
    assert err.relation == "role"
    message = str(err)
    assert "users/7.role" in message
    assert "role_id" in message
    assert "include=['role']" in message
    assert getattr(user, "role", "default") == "default"
    assert not is_loaded(user, "role")


@pytest.mark.parametrize(
    ("relation", "include"),
    [
        ("manager", "manager"),
        ("skills", "skills"),
        ("skill_memberships", "skill_memberships"),
        ("account_membership", "account_membership"),
        ("work_samples", "work_samples"),
    ],
)
def test_not_loaded_messages_name_the_include(graph: Graph, relation: str, include: str) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7"}}))

    with pytest.raises(
        RelationNotLoadedError, match=rf"users/7\.{relation}\b.*include=\['{include}'\]"
    ):
        getattr(user, relation)


def test_an_inverse_only_relation_is_not_loaded_until_marked(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7"}}))

    with pytest.raises(RelationNotLoadedError) as info:
        _ = user.workweek_memberships
    assert "users/7.workweek_memberships" in str(info.value)
    assert "mark_loaded" in str(info.value)
    assert not is_loaded(user, "workweek_memberships")

    graph.mark_loaded(user, "workweek_memberships")

    assert user.workweek_memberships == []
    assert is_loaded(user, "workweek_memberships")


def test_mark_loaded_keeps_what_was_already_linked(graph: Graph) -> None:
    [first, second] = graph.merge(workweek_memberships_page())

    graph.mark_loaded(first.user, "workweek_memberships")

    assert first.user.workweek_memberships == [first, second]


def test_mark_loaded_then_a_membership_arrives(graph: Graph) -> None:
    [skill] = graph.merge(envelope("skills", {"5": {"id": "5"}}))
    graph.mark_loaded(skill, "skill_memberships")

    [membership] = graph.merge(envelope("skill_memberships", {"50": {"skill_id": "5"}}))

    assert skill.skill_memberships == [membership]


@pytest.mark.parametrize("relation", ["role", "no_such_relation"])
def test_mark_loaded_rejects_non_inverse_relations(graph: Graph, relation: str) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7"}}))

    with pytest.raises(ValueError, match="workweek_memberships"):
        graph.mark_loaded(user, relation)

    assert not is_loaded(user, "role")


def test_an_id_whose_record_never_arrived_dangles(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7", "role_id": "3", "manager_id": 8}}))

    with pytest.raises(DanglingReferenceError) as info:
        _ = user.role

    err = info.value
    assert isinstance(err, LookupError)
    assert isinstance(err, KantataError)
    assert not isinstance(err, KeyError)
    assert not isinstance(err, AttributeError)
    assert (err.relation, err.key, err.ids) == ("role", "roles", ["3"])
    assert "users/7.role" in str(err)
    assert "roles/3" in str(err)
    with pytest.raises(DanglingReferenceError, match="users/8"):
        _ = user.manager
    assert is_loaded(user, "role")


def test_a_dangling_list_names_only_the_missing_ids(graph: Graph) -> None:
    [user] = graph.merge(
        envelope(
            "users",
            {"7": {"id": "7", "skill_ids": ["5", "6", "7"]}},
            skills={"6": {"id": "6", "name": "Typography"}},
        )
    )

    with pytest.raises(DanglingReferenceError) as info:
        _ = user.skills

    assert info.value.key == "skills"
    assert info.value.ids == ["5", "7"]
    assert "skills/5" in str(info.value)
    assert "skills/7" in str(info.value)
    assert "skills/6" not in str(info.value)


def test_a_dangling_account_membership_workweek(graph: Graph) -> None:
    [membership] = graph.merge(
        envelope("account_memberships", {"70": {"user_id": "7", "effective_workweek_id": "900"}})
    )

    with pytest.raises(DanglingReferenceError, match="workweeks/900"):
        _ = membership.effective_workweek
    with pytest.raises(DanglingReferenceError, match="users/7"):
        _ = membership.user


# -- forget ------------------------------------------------------------------------------


def test_forget_removes_the_object_from_the_graph(graph: Graph) -> None:
    [first, second] = graph.merge(workweek_memberships_page())

    forgotten = graph.forget(WorkweekMembership, "21")

    assert forgotten is first
    assert graph.get(WorkweekMembership, "21") is None
    assert graph.count("workweek_memberships") == 1
    assert list(graph.objects(WorkweekMembership)) == [second]
    assert graph.forget(WorkweekMembership, "21") is None  # already gone
    assert graph.forget("never_seen", "1") is None


def test_forget_removes_the_object_from_inverse_links(graph: Graph) -> None:
    [first, second] = graph.merge(workweek_memberships_page())
    user = first.user
    workweek = graph.get(Workweek, "32")
    assert workweek is not None
    graph.mark_loaded(user, "workweek_memberships")
    graph.mark_loaded(workweek, "workweek_memberships")

    graph.forget("workweek_memberships", "21")
    graph.forget("workweek_memberships", 22)

    assert user.workweek_memberships == []
    assert workweek.workweek_memberships == []
    assert second.user is user  # the forgotten object itself is left intact


def test_forget_a_custom_field_value(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7"}}))
    graph.mark_loaded(user, "custom_field_values")
    graph.merge(
        envelope(
            "custom_field_values",
            {"300": {"subject_type": "User", "subject_id": 7}, "301": {"subject_id": 7}},
        )
    )
    [kept] = graph.merge(
        envelope("custom_field_values", {"302": {"subject_type": "User", "subject_id": "7"}})
    )

    graph.forget(CustomFieldValue, "300")

    assert user.custom_field_values == [kept]


def test_forget_the_only_account_membership(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7"}}))
    graph.merge(envelope("account_memberships", {"70": {"user_id": "7"}}))

    graph.forget(AccountMembership, "70")

    assert user.account_membership is None


def test_merging_a_forgotten_id_again_makes_a_new_object(graph: Graph) -> None:
    [first, _] = graph.merge(workweek_memberships_page())
    user = first.user
    graph.mark_loaded(user, "workweek_memberships")
    graph.forget(WorkweekMembership, "21")

    [again] = graph.merge(envelope("workweek_memberships", {"21": {"user_id": 7}}))

    assert again is not first
    assert graph.get(WorkweekMembership, "21") is again
    assert first not in user.workweek_memberships
    assert again in user.workweek_memberships


# -- repr -------------------------------------------------------------------------------


def test_repr_of_partial_objects(graph: Graph) -> None:
    [bare] = graph.merge(envelope("users", {"7": {"id": "7"}}))
    [membership, _] = graph.merge(workweek_memberships_page(include_users=False))

    assert repr(bare) == "User(id='7')"
    text = repr(membership)
    assert text.startswith("WorkweekMembership(id='21'")
    assert "start_date=datetime.date(2024, 1, 1)" in text
    assert "user_id='7'" in text
    [_, cy] = graph.merge(users_page())
    assert "headline=None" in repr(cy)
    assert "role_id=None" in repr(cy)


def test_repr_of_linked_objects_does_not_recurse(graph: Graph) -> None:
    [membership, _] = graph.merge(workweek_memberships_page())
    user = membership.user  # user <-> membership is a cycle

    assert repr(user).startswith("User(id='7'")
    assert "WorkweekMembership" not in repr(user)
    assert "@" not in repr(membership)


def test_repr_with_dangling_links_and_of_a_generic_record(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"role_id": "3", "skill_ids": ["5"]}}))
    [gadget] = graph.merge(envelope("gadgets", {"1": {"title": "Rebrand"}}))

    assert repr(user) == "User(id='7', role_id='3', skill_ids=['5'])"
    assert "Record(id='1'" in repr(gadget)
