"""FakeKantata's main user and workweek membership filters, through plain requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from fake_api import Api, alphabetical, fields, result_ids, users_of

from kantata_async.testing import FakeKantata


@pytest.fixture
async def fake() -> AsyncIterator[FakeKantata]:
    async with FakeKantata(users=60, seed=3) as server:
        yield server


# -- filters --------------------------------------------------------------------------------


async def test_user_filters_by_name_and_email(fake: FakeKantata, api: Api) -> None:
    users = users_of(fake)
    last = users["6"]["full_name"].split()[1]
    body = await api.ok("users", by_full_name=last.lower(), per_page="200")
    assert result_ids(body) == [i for i in alphabetical(fake) if last in users[i]["full_name"]]
    email = users["6"]["email_address"]
    assert result_ids(await api.ok("users", by_email_address=email)) == ["6"]
    assert result_ids(await api.ok("users", by_email_address=email[:-1])) == []
    both = await api.ok("users", by_email_addresses=f"{email},{users['8']['email_address']}")
    assert sorted(result_ids(both)) == ["6", "8"]


async def test_user_filters_by_id_lists(fake: FakeKantata, api: Api) -> None:
    # A part that is not an id matches nothing, as ActiveRecord casts it to NULL.
    body = await api.ok("users", with_users="3,4,5,zz", show_disabled="true")
    assert sorted(result_ids(body)) == ["3", "4", "5"]
    without = await api.ok("users", without_users="3,4", per_page="200")
    assert result_ids(without) == [i for i in alphabetical(fake) if i not in ("3", "4")]


async def test_disabled_users_are_hidden_unless_asked_for(fake: FakeKantata, api: Api) -> None:
    disabled = sorted(u["id"] for u in users_of(fake).values() if u["disabled"])
    assert disabled and all(int(i) % 20 == 0 for i in disabled)
    default = await api.ok("users", per_page="200")
    assert not set(disabled) & set(result_ids(default))
    total = len(alphabetical(fake))
    assert (await api.ok("users", per_page="200", show_disabled="false"))["count"] == total
    everyone = await api.ok("users", per_page="200", show_disabled="true")
    assert result_ids(everyone) == alphabetical(fake, disabled=True)
    assert (await api.get("users/20")).status == 404
    assert result_ids(await api.ok("users/20", show_disabled="true")) == ["20"]


async def test_managers_and_on_my_account_filters(fake: FakeKantata, api: Api) -> None:
    users = users_of(fake)
    managers = {u["manager_id"] for u in users.values() if u["manager_id"]}
    body = await api.ok("users", managers="true", per_page="200")
    assert set(result_ids(body)) == managers - {u for u in managers if users[u]["disabled"]}
    total = len(alphabetical(fake))
    assert (await api.ok("users", managers="false"))["count"] == total
    # Of account 2, in a project of account 1: listed by default, not on my account.
    project = next(
        w for w, ws in fake.dataset.records["workspaces"].items() if ws["account_id"] == "1"
    )
    outsider = fake.dataset.add_user("Olga Outsider", account_id="2", workspace_ids=[project])
    assert (await api.ok("users", per_page="200"))["count"] == total + 1
    mine = await api.ok("users", on_my_account="true", per_page="200")
    assert outsider["id"] not in result_ids(mine)
    assert result_ids(mine) == alphabetical(fake, on_my_account=True)


async def test_timestamp_filters_compare_iso_datetimes(fake: FakeKantata, api: Api) -> None:
    users = users_of(fake)
    stamps = sorted(users[i]["created_at"] for i in alphabetical(fake))
    cut = stamps[len(stamps) // 2]  # the median: some before, some after
    bound = datetime.fromisoformat(cut)
    after = await api.ok("users", created_after=cut, per_page="200")
    expected = [
        i for i in alphabetical(fake) if datetime.fromisoformat(users[i]["created_at"]) > bound
    ]
    assert result_ids(after) == expected and 0 < len(expected) < len(alphabetical(fake))
    before = await api.ok("users", created_before=cut, per_page="200")
    at_cut = [i for i in alphabetical(fake) if users[i]["created_at"] == cut]
    assert sorted(result_ids(before) + expected + at_cut, key=int) == sorted(
        alphabetical(fake), key=int
    )
    updated = await api.ok("workweek_memberships", updated_after="2025-01-01", per_page="200")
    for wm in updated["workweek_memberships"].values():
        assert datetime.fromisoformat(wm["updated_at"]) > datetime.fromisoformat(
            "2025-01-01T00:00:00-07:00"
        )
    zulu = await api.ok("roles", updated_before="2024-06-01T07:00:00Z", per_page="200")
    assert all(r["updated_at"] < "2024-06-01T00:00:00-07:00" for r in zulu["roles"].values())
    bad = await api.get("users", updated_after="last tuesday")
    assert bad.status == 422 and fields(bad) == ["updated_after"]


async def test_workweek_membership_filters(fake: FakeKantata, api: Api) -> None:
    store = fake.dataset.records["workweek_memberships"]
    mine = await api.ok("workweek_memberships", user_ids="3,4", per_page="200")
    assert {wm["user_id"] for wm in mine["workweek_memberships"].values()} == {3, 4}
    assert mine["count"] == sum(1 for wm in store.values() if wm["user_id"] in (3, 4))
    day = "2025-01-01"
    effective = await api.ok("workweek_memberships", effective_date=day, per_page="200")
    expected = {
        i
        for i, wm in store.items()
        if wm["start_date"] <= day and (wm["end_date"] is None or wm["end_date"] >= day)
    }
    assert set(result_ids(effective)) == expected
    # A timeline: at most one membership per user is in effect on a day.
    user_ids = [wm["user_id"] for wm in effective["workweek_memberships"].values()]
    assert len(user_ids) == len(set(user_ids))
    own = await api.ok("workweek_memberships", participating_with="true")
    assert {wm["user_id"] for wm in own["workweek_memberships"].values()} == {1}
    bad = await api.get("workweek_memberships", effective_date="01/02/2025")
    assert bad.status == 422 and fields(bad) == ["effective_date"]


async def test_workweek_membership_user_id_is_an_int_on_the_wire(api: Api) -> None:
    body = await api.ok("workweek_memberships", include="user,workweek", per_page="5")
    for wm in body["workweek_memberships"].values():
        assert isinstance(wm["user_id"], int) and isinstance(wm["id"], str)
        assert str(wm["user_id"]) in body["users"]
        assert wm["workweek_id"] in body["workweeks"]
