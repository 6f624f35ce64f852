"""Links between records: forward, inverse, and resolved live as later pages bring records."""

from __future__ import annotations

import pytest
from conftest import envelope, users_page, workweek_memberships_page

from kantata_async import (
    AccountMembership,
    DanglingReferenceError,
    Graph,
    RelationNotLoadedError,
    Role,
    Skill,
    SkillMembership,
    User,
    WorkSample,
    Workweek,
    is_loaded,
)

# -- forward links ------------------------------------------------------------------------


def test_user_forward_links_on_a_fully_included_page(graph: Graph) -> None:
    [ann, _] = graph.merge(users_page())

    assert ann.role is graph.get(Role, "3")
    assert ann.role.name == "Designer"
    assert ann.manager is graph.get(User, "8")
    assert ann.manager.full_name == "Bob Boss"
    assert [s.name for s in ann.skills] == ["Illustration", "Typography"]
    assert [m.level for m in ann.skill_memberships] == [4, 2]
    assert ann.account_membership is graph.get(AccountMembership, "70")
    assert [v.display_value for v in ann.custom_field_values] == ["Medium"]
    assert [r.service_name for r in ann.external_references] == ["crm"]
    assert [w.title for w in ann.work_samples] == ["Poster series"]
    assert type(ann.work_samples[0]) is WorkSample


def test_second_level_links(graph: Graph) -> None:
    [ann, _] = graph.merge(users_page())
    membership = ann.account_membership

    assert membership.user is ann
    assert membership.default_role is ann.role
    assert membership.manager is ann.manager
    assert membership.managees == []
    assert membership.skill_memberships == ann.skill_memberships
    skill_membership = membership.skill_memberships[0]
    assert type(skill_membership) is SkillMembership
    assert skill_membership.skill is graph.get(Skill, "5")
    assert skill_membership.user is ann
    assert skill_membership.creator is ann.manager


def test_loaded_and_empty_relations_read_none_and_empty_lists(graph: Graph) -> None:
    [_, cy] = graph.merge(users_page())

    assert cy.role is None
    assert cy.manager is None
    assert cy.account_membership is None
    assert cy.skills == []
    assert cy.skill_memberships == []
    assert cy.custom_field_values == []
    assert cy.external_references == []
    assert cy.work_samples == []


def test_a_null_id_list_reads_as_empty(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7", "skill_ids": None}}))

    assert user.skill_ids is None
    assert user.skills == []


def test_workweek_membership_links_with_an_int_user_id(graph: Graph) -> None:
    [first, second] = graph.merge(workweek_memberships_page())

    assert first.user is graph.get(User, "7")
    assert first.user is second.user
    assert first.workweek is graph.get(Workweek, "31")
    assert first.workweek.monday_minutes == 480
    assert second.workweek.total_minutes == 960


def test_workweek_memberships_forward_from_ids(graph: Graph) -> None:
    [first, _] = graph.merge(workweek_memberships_page())
    workweek = first.workweek

    assert workweek.workweek_membership_ids == ["21"]
    assert workweek.workweek_memberships == [first]


def test_many_relations_keep_id_order_and_return_fresh_lists(graph: Graph) -> None:
    [user] = graph.merge(
        envelope(
            "users",
            {"7": {"id": "7", "skill_ids": ["6", "5", "7"]}},
            skills={k: {"id": k, "name": f"s{k}"} for k in ("5", "6", "7")},
        )
    )

    skills = user.skills
    assert [s.id for s in skills] == ["6", "5", "7"]
    skills.clear()
    assert [s.id for s in user.skills] == ["6", "5", "7"]
    assert user.skills is not user.skills


# -- inverse links ------------------------------------------------------------------------


def test_user_workweek_memberships_derive_from_user_id(graph: Graph) -> None:
    [first, second] = graph.merge(workweek_memberships_page())
    user = first.user
    # Two memberships link here, but the graph cannot know they are all of them.
    assert not is_loaded(user, "workweek_memberships")

    graph.mark_loaded(user, "workweek_memberships")

    assert user.workweek_memberships == [first, second]
    assert is_loaded(user, "workweek_memberships")


def test_a_many_relation_never_reads_a_partial_inverse_list(graph: Graph) -> None:
    # A page of memberships names workweek 32 once: the workweek surely has more members.
    [_, second] = graph.merge(workweek_memberships_page())
    workweek = graph.get(Workweek, "32")
    assert workweek is not None
    assert not is_loaded(workweek, "workweek_membership_ids")

    with pytest.raises(RelationNotLoadedError, match="include=\\['workweek_memberships'\\]"):
        _ = workweek.workweek_memberships
    assert not is_loaded(workweek, "workweek_memberships")

    graph.mark_loaded(workweek, "workweek_memberships")
    assert workweek.workweek_memberships == [second]


def test_user_account_membership_from_the_memberships_user_id(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7", "full_name": "Ann"}}))
    assert not is_loaded(user, "account_membership")

    [membership] = graph.merge(
        envelope("account_memberships", {"70": {"id": "70", "user_id": "7", "permission": "user"}})
    )

    assert user.account_membership is membership
    assert membership.user is user
    assert is_loaded(user, "account_membership")


def test_a_one_inverse_reads_the_most_recently_linked_record(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7"}}))
    [first] = graph.merge(envelope("account_memberships", {"70": {"user_id": "7"}}))
    [second] = graph.merge(envelope("account_memberships", {"71": {"user_id": 7}}))
    assert user.account_membership is second

    graph.forget(AccountMembership, "71")

    assert user.account_membership is first


def test_skill_skill_memberships_derive_from_skill_id(graph: Graph) -> None:
    held = graph.merge(users_page())
    skill = graph.get(Skill, "5")
    assert skill is not None
    with pytest.raises(RelationNotLoadedError):
        _ = skill.skill_memberships

    graph.mark_loaded(skill, "skill_memberships")
    assert [m.id for m in skill.skill_memberships] == ["50"]
    assert held


def test_user_custom_field_values_from_the_values_subject(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7", "full_name": "Ann"}}))

    values = graph.merge(
        envelope(
            "custom_field_values",
            {
                "300": {"subject_type": "User", "subject_id": 7, "value": "M"},
                "301": {"subject_ref": {"key": "users", "id": "7"}, "value": "Oslo"},
                "302": {"subject_type": "User", "subject_id": 8, "value": "other user"},
            },
        )
    )

    with pytest.raises(RelationNotLoadedError, match="include=\\['custom_field_values'\\]"):
        _ = user.custom_field_values  # the user's own ids never arrived
    graph.mark_loaded(user, "custom_field_values")
    assert user.custom_field_values == values[:2]


def test_forward_ids_take_precedence_over_the_inverse(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7", "account_membership_id": None}}))

    graph.merge(envelope("account_memberships", {"70": {"id": "70", "user_id": "7"}}))

    assert user.account_membership is None


def test_changing_a_link_moves_the_record_between_inverse_lists(graph: Graph) -> None:
    users = graph.merge(envelope("users", {"7": {"id": "7"}, "8": {"id": "8"}}))
    for user in users:
        graph.mark_loaded(user, "workweek_memberships")
    [membership] = graph.merge(envelope("workweek_memberships", {"21": {"user_id": 7}}))
    assert users[0].workweek_memberships == [membership]

    graph.merge(envelope("workweek_memberships", {"21": {"user_id": 8}}))

    assert membership.user is users[1]
    assert users[0].workweek_memberships == []
    assert users[1].workweek_memberships == [membership]


def test_a_link_set_to_null_leaves_the_inverse_list(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7"}}))
    graph.mark_loaded(user, "workweek_memberships")
    [membership] = graph.merge(envelope("workweek_memberships", {"21": {"user_id": 7}}))

    graph.merge(envelope("workweek_memberships", {"21": {"user_id": None}}))

    assert membership.user is None
    assert user.workweek_memberships == []


# -- live resolution ----------------------------------------------------------------------


def test_a_reference_from_page_one_sees_later_pages(graph: Graph) -> None:
    [ann, _] = graph.merge(users_page())
    role = ann.role
    manager = ann.manager

    for page in range(2, 8):
        graph.merge(
            envelope(
                "users",
                {str(100 + page): {"id": str(100 + page), "role_id": "3", "manager_id": "8"}},
                roles={"3": {"id": "3", "name": f"Designer (v{page})"}},
                users={"8": {"id": "8", "full_name": f"Bob Boss (v{page})"}},
            )
        )

    assert role.name == "Designer (v7)"
    assert manager.full_name == "Bob Boss (v7)"
    assert ann.role is role


def test_a_linked_record_arriving_later_becomes_readable(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7", "role_id": "3", "skill_ids": ["5"]}}))
    with pytest.raises(DanglingReferenceError):
        _ = user.role

    graph.merge(envelope("roles", {"3": {"id": "3", "name": "Designer"}}))
    graph.merge(envelope("skills", {"5": {"id": "5", "name": "Illustration"}}))

    assert user.role.name == "Designer"
    assert user.role is graph.get(Role, "3")
    assert [s.name for s in user.skills] == ["Illustration"]


def test_an_inverse_recorded_before_the_target_arrives_survives(graph: Graph) -> None:
    [membership, other] = graph.merge(workweek_memberships_page(include_users=False))

    [user] = graph.merge(envelope("users", {"7": {"id": "7", "full_name": "Ann"}}))

    assert membership.user is user
    graph.mark_loaded(user, "workweek_memberships")
    assert user.workweek_memberships == [membership, other]


def test_relinking_to_another_record(graph: Graph) -> None:
    [user] = graph.merge(
        envelope("users", {"7": {"role_id": "3"}}, roles={"3": {"name": "Designer"}})
    )

    graph.merge(envelope("users", {"7": {"role_id": "4"}}, roles={"4": {"name": "Director"}}))

    assert user.role.name == "Director"
    assert user.role_id == "4"


def test_an_update_without_the_ids_keeps_the_links(graph: Graph) -> None:
    [ann, _] = graph.merge(users_page())
    role = ann.role

    graph.merge(envelope("users", {"7": {"id": "7", "headline": "Art Director"}}))

    assert ann.role is role
    assert len(ann.skills) == 2
