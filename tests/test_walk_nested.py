"""The walk's nested include levels: records default filters would hide, missing ones, inverses."""

from __future__ import annotations

from typing import Any

import pytest

from kantata_async import KantataClient
from kantata_async.testing import FakeKantata

# -- 6, 7. nested levels: hidden records, inverse paths -------------------------------------


async def test_nested_levels_are_not_hidden_by_default_filters(
    fake: FakeKantata, client: KantataClient
) -> None:
    disabled = {i for i, u in fake.dataset.records["users"].items() if u.get("disabled")}
    listing = client.workweek_memberships.list(include=["user.account_membership"])
    memberships = [m async for m in listing]
    owners = {m.user_id for m in memberships}
    assert owners & disabled, "the dataset should give disabled users memberships"
    for membership in memberships:
        assert membership.user is not None
        assert membership.user.account_membership is not None  # for disabled users too
    nested = [r for r in fake.requests if r.path == "users"]
    assert nested
    assert all(r.query["apply_default_filters"] == "false" for r in nested)
    assert listing.stats.unresolved == 0


async def test_a_nested_record_the_server_does_not_return_is_counted(
    fake: FakeKantata, client: KantataClient, caplog: pytest.LogCaptureFixture
) -> None:
    gone: list[str] = []

    def delete_one(request: Any) -> None:
        if request.path == "users" and "only" in request.query and not gone:
            gone.append(request.query["only"].split(",")[0])
            fake.dataset.delete("users", gone[0])

    fake.on_request = delete_one
    listing = client.workweek_memberships.list(include=["user.account_membership"])
    with caplog.at_level("WARNING", logger="kantata_async"):
        memberships = [m async for m in listing]
    assert gone
    assert listing.stats.unresolved >= 1
    assert any("could not be loaded" in r.getMessage() for r in caplog.records)
    assert memberships


async def test_an_inverse_include_path_loads_every_linking_record(
    fake: FakeKantata, client: KantataClient
) -> None:
    page = await client.workweek_memberships.list(
        per_page=5, include=["workweek.workweek_memberships"]
    )
    by_workweek: dict[str, set[str]] = {}
    users = fake.dataset.records["users"]
    for record in fake.dataset.records["workweek_memberships"].values():
        # A workweek names the memberships the token may see: those of its account.
        if users[str(record["user_id"])]["account_id"] == users[fake.me]["account_id"]:
            by_workweek.setdefault(str(record["workweek_id"]), set()).add(str(record["id"]))
    assert page.items
    for membership in page.items:
        workweek = membership.workweek
        assert workweek is not None
        linked = {m.id for m in workweek.workweek_memberships}
        assert linked == by_workweek[workweek.id]
    nested = [r for r in fake.requests if r.path == "workweeks"]
    assert [r.query["include"] for r in nested] == ["workweek_memberships"]
