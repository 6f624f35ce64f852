"""Nested includes: resolved by the SDK in batches, linked before the records arrive."""

from __future__ import annotations

import pytest

from kantata_async import (
    AccountMembership,
    KantataClient,
    RelationNotLoadedError,
    SkillMembership,
    User,
)
from kantata_async.testing import FakeKantata


async def test_nested_include_arrives_linked_with_few_requests(
    fake: FakeKantata, client: KantataClient
) -> None:
    users = [
        u
        async for u in client.users.list(
            include=["account_membership.skill_memberships", "role"], per_page=20
        )
    ]
    assert users
    records = fake.dataset.records
    for user in users:
        membership = user.account_membership
        assert isinstance(membership, AccountMembership)
        expected = records["account_memberships"][membership.id]["skill_membership_ids"]
        assert [sm.id for sm in membership.skill_memberships] == expected
        assert all(isinstance(sm, SkillMembership) for sm in membership.skill_memberships)
        assert user.role is not None

    user_pages = [r for r in fake.requests if r.path == "users"]
    nested = [r for r in fake.requests if r.path == "account_memberships"]
    # The server got only the first level; dotted names never reach it.
    assert {r.query["include"] for r in user_pages} == {"account_membership,role"}
    # One batched request per page of users, not one per user.
    assert len(nested) == len(user_pages)
    for request in nested:
        assert request.query["include"] == "skill_memberships"
        assert len(request.query["only"].split(",")) <= 20


async def test_three_levels_deep(fake: FakeKantata, client: KantataClient) -> None:
    user = await client.users.get("3", include=["account_membership.skill_memberships.skill"])
    memberships = user.account_membership.skill_memberships  # type: ignore[union-attr]
    assert memberships
    for sm in memberships:
        skill = sm.skill
        assert skill is not None
        assert skill.id == fake.dataset.records["skill_memberships"][sm.id]["skill_id"]
        assert skill.name
    assert [r.path for r in fake.requests] == [
        "users/3",
        "account_memberships",
        "skill_memberships",
    ]


async def test_levels_already_loaded_are_not_fetched_again(
    fake: FakeKantata, client: KantataClient
) -> None:
    await client.users.get("4", include=["account_membership.skill_memberships"])
    fake.requests.clear()
    await client.users.get("4", include=["account_membership.skill_memberships"])
    assert [r.path for r in fake.requests] == ["users/4"]


async def test_unknown_paths_are_a_clear_error_listing_the_valid_ones(
    fake: FakeKantata, client: KantataClient
) -> None:
    with pytest.raises(ValueError) as info:
        client.users.list(include=["account_membership.salary"])
    message = str(info.value)
    assert "'account_membership.salary' is not valid here" in message
    assert "account_membership.skill_memberships" in message
    assert "role" in message
    with pytest.raises(ValueError, match=r"'work_samples\.title' is not valid"):
        await client.users.get("1", include=["work_samples.title"])
    assert fake.requests == []


async def test_a_level_that_was_not_asked_for_stays_unloaded(client: KantataClient) -> None:
    user = await client.users.get("5", include=["account_membership"])
    assert isinstance(user, User)
    membership = user.account_membership
    assert membership is not None
    with pytest.raises(RelationNotLoadedError, match=r"include=\['skill_memberships'\]"):
        _ = membership.skill_memberships


async def test_read_only_collections(fake: FakeKantata, client: KantataClient) -> None:
    ids = list(fake.dataset.records["account_memberships"])[:3]
    found = [m async for m in client.account_memberships.list(only=ids, include=["user"])]
    assert sorted(m.id for m in found) == sorted(ids)
    assert all(isinstance(m.user, User) for m in found)
    skill = await client.skills.get(next(iter(fake.dataset.records["skills"])))
    assert skill.name
