"""The graph holds records weakly; records hold what they link to strongly."""

from __future__ import annotations

import weakref
from typing import Any

from conftest import collect, envelope, users_page, workweek_memberships_page

from kantata_async import (
    AccountMembership,
    CustomFieldValue,
    Graph,
    Role,
    Skill,
    User,
    Workweek,
    WorkweekMembership,
)


def test_dropped_records_leave_the_graph(graph: Graph) -> None:
    users = graph.merge(users_page())
    assert graph.count(User) == 3

    del users
    collect()

    assert graph.count(User) == 0
    assert graph.get(User, "7") is None
    assert graph.get(Role, "3") is None
    assert list(graph.objects(Skill)) == []


def test_dropping_one_record_keeps_the_others(graph: Graph) -> None:
    [ann, cy] = graph.merge(users_page())
    probe = weakref.ref(cy)

    del cy
    collect()

    assert probe() is None
    assert graph.get(User, "9") is None
    assert graph.get(User, "7") is ann
    assert graph.count(User) == 2  # ann and her manager


def test_a_held_user_keeps_what_it_links_to(graph: Graph) -> None:
    [ann, _] = graph.merge(users_page())
    collect()

    assert ann.role.name == "Designer"
    assert ann.manager.full_name == "Bob Boss"
    assert [s.name for s in ann.skills] == ["Illustration", "Typography"]
    assert ann.account_membership.skill_memberships[0].skill.name == "Illustration"
    assert ann.custom_field_values[0].display_value == "Medium"
    assert graph.get(Role, "3") is ann.role
    assert graph.get(User, "8") is ann.manager
    assert graph.count(Skill) == 2


def test_a_held_user_keeps_its_inverse_links_readable(graph: Graph) -> None:
    [first, second] = graph.merge(workweek_memberships_page())
    user = first.user
    graph.mark_loaded(user, "workweek_memberships")
    del first, second
    collect()

    assert [m.id for m in user.workweek_memberships] == ["21", "22"]
    assert user.workweek_memberships[0].workweek.total_minutes == 2400
    assert graph.count(WorkweekMembership) == 2


def test_a_held_record_keeps_its_polymorphic_subject(graph: Graph) -> None:
    held = graph.merge(users_page())
    value = graph.get(CustomFieldValue, "300")
    del held
    collect()

    assert value is not None
    assert value.subject.full_name == "Ann Archer"
    assert graph.get(User, "7") is value.subject


def test_a_collected_record_comes_back_as_a_new_object(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"full_name": "Ann", "headline": "Designer"}}))
    probe = weakref.ref(user)
    del user
    collect()
    assert probe() is None

    [again] = graph.merge(envelope("users", {"7": {"full_name": "Ann Archer"}}))

    assert again.full_name == "Ann Archer"
    assert not hasattr(again, "headline")  # nothing survives from the collected object


def test_a_sideload_is_kept_only_while_something_links_to_it(graph: Graph) -> None:
    [user] = graph.merge(
        envelope(
            "users",
            {"7": {"full_name": "Ann"}},
            account_memberships={"70": {"user_id": "7"}, "71": {"user_id": "8"}},
        )
    )

    collect()

    assert graph.get(AccountMembership, "71") is None  # links to user 8, nothing links to it
    assert graph.get(AccountMembership, "70") is user.account_membership  # via the inverse link


def test_many_records_are_freed(graph: Graph) -> None:
    """Enough records to cross the graph's internal sweep threshold."""
    for page in range(6):
        records = {str(page * 500 + i): {"full_name": f"user {i}"} for i in range(500)}
        out = graph.merge(envelope("users", records, roles={"1": {"name": "Designer"}}))
        assert len(out) == 500
        del out
    [kept] = graph.merge(envelope("users", {"42": {"role_id": "1"}}))
    collect()

    assert graph.count(User) == 1
    assert [u.id for u in graph.objects(User)] == ["42"]
    assert graph.get(User, "1999") is None
    assert graph.get(User, "42") is kept


# -- hubs hold the records that point at them weakly ---------------------------------------


def _skill_page(first_user: int, users: int) -> dict[str, Any]:
    """`users` users, each with one skill membership of the shared skill 1."""
    ids = [str(first_user + n) for n in range(users)]
    return {
        "results": [{"key": "skill_memberships", "id": f"sm{i}"} for i in ids],
        "skill_memberships": {f"sm{i}": {"level": 3, "skill_id": "1", "user_id": i} for i in ids},
        "users": {i: {"full_name": f"User {i}"} for i in ids},
        "skills": {"1": {"name": "Python"}},
    }


def test_a_held_hub_does_not_keep_its_members_alive() -> None:
    graph = Graph()
    memberships = graph.merge(_skill_page(1, 5))
    skill = memberships[0].skill  # type: ignore[attr-defined]
    assert isinstance(skill, Skill)
    graph.mark_loaded(skill, "skill_memberships")
    assert {sm.id for sm in skill.skill_memberships} == {f"sm{i}" for i in range(1, 6)}

    del memberships
    collect()
    assert graph.count("skill_memberships") == 0
    assert graph.count("users") == 0
    assert skill.skill_memberships == []  # the hub survives; what it did not own is gone


def test_a_held_owner_keeps_what_it_owns() -> None:
    graph = Graph()
    [wm] = graph.merge(
        {
            "results": [{"key": "workweek_memberships", "id": "4"}],
            "workweek_memberships": {"4": {"user_id": 7, "workweek_id": "2"}},
            "users": {"7": {"full_name": "Ann"}},
            "workweeks": {"2": {"total_minutes": 2400}},
        }
    )
    assert isinstance(wm, WorkweekMembership)
    user, workweek = wm.user, wm.workweek
    assert isinstance(user, User)
    assert isinstance(workweek, Workweek)
    graph.mark_loaded(user, "workweek_memberships")
    graph.mark_loaded(workweek, "workweek_memberships")
    del wm
    collect()
    # The user owns its memberships (strong); the workweek is a hub (weak) but the
    # membership is still alive through the user.
    assert [m.id for m in user.workweek_memberships] == ["4"]
    assert [m.id for m in workweek.workweek_memberships] == ["4"]
    assert user.workweek_memberships[0].workweek is workweek


def test_a_hub_list_stays_bounded_over_a_long_run() -> None:
    graph = Graph()
    held = graph.merge(_skill_page(1, 1))
    skill = held[0].skill  # type: ignore[attr-defined]
    graph.mark_loaded(skill, "skill_memberships")
    for page in range(200):
        graph.merge(_skill_page(1000 + page * 10, 10))  # dropped at once
        if page % 10 == 9:
            collect()  # the cycle collector's passes, made deterministic
    collect()
    inverse = skill._links[Skill.skill_memberships.inverse_key]
    # Swept each time it doubles: it tracks what is alive (or not yet collected), not the
    # 2,001 memberships that ever pointed at the skill.
    assert len(inverse) < 256
    assert [sm.id for sm in skill.skill_memberships] == ["sm1"]
