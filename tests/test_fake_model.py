"""What the fake models beyond filters: who you see, fields, the clock, bodies, routes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

import pytest
from conftest import call, my_memberships, visible

from kantata_async import KantataClient
from kantata_async.sync import Watermark, changes
from kantata_async.testing import Dataset, FakeKantata
from kantata_async.testing._collections import COLLECTIONS


def schema_fields(schema: str) -> set[str] | None:
    """The fields the facts give a record schema (named plainly or under a namespace:
    `Project__Snapshots__Models__ProjectSnapshot`); None when they give it none."""
    folder = resources.files("kantata_async.testing").joinpath("facts")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            for name, found in json.loads(entry.read_text()).get("schemas", {}).items():
                if schema in (name, name.rpartition("__")[2]) and found.get("fields"):
                    return set(found["fields"])
    return None


def include_fields(key: str, names: Iterable[str]) -> set[str]:
    """The id fields of `key`'s includes `names`, as the facts give them."""
    folder = resources.files("kantata_async.testing").joinpath("facts")
    path = "/" + COLLECTIONS[key].path
    for entry in folder.iterdir():
        if entry.name.endswith(".json"):
            for op in json.loads(entry.read_text())["operations"]:
                if (op["method"], op["path"]) == ("GET", path):
                    return {op["include"][n]["field"] for n in names if n in op["include"]}
    return set()


def ids(answer: Any) -> list[str]:
    return [r["id"] for r in answer.json()["results"]]


def no_project(fake: FakeKantata) -> list[str]:
    """Members of my account who take part in no project."""
    taking_part = {p["user_id"] for p in fake.dataset.records["participations"].values()}
    users = fake.dataset.records["users"]
    return [
        i
        for i, u in users.items()
        if u["account_id"] == "1" and not u["disabled"] and i not in taking_part
    ]


# -- who you see ------------------------------------------------------------------------------


async def test_without_on_my_account_you_see_the_people_of_your_projects(
    fake: FakeKantata,
) -> None:
    users = fake.dataset.records["users"]
    hidden = no_project(fake)
    others = {i for i, u in users.items() if u["account_id"] == "2"}
    assert hidden and others, "the dataset has people outside projects and another account"
    listed = set(ids(await call(fake, "GET", "users", params={"per_page": "200"})))
    assert listed == visible(fake)
    assert not listed & set(hidden)
    assert listed & others and others - listed  # those sharing a project with us, only
    mine = set(
        ids(await call(fake, "GET", "users", params={"per_page": "200", "on_my_account": "true"}))
    )
    assert set(hidden) <= mine and not mine & others
    # A show route applies the same rule; users/me is always you.
    assert (await call(fake, "GET", f"users/{hidden[0]}")).status == 404
    shown = await call(fake, "GET", f"users/{hidden[0]}", params={"on_my_account": "true"})
    assert ids(shown) == [hidden[0]]
    async with FakeKantata(dataset=fake.dataset, me=hidden[0]) as lonely:
        assert ids(await call(lonely, "GET", "users/me")) == [hidden[0]]
        # Taking part in no project, a member who is no administrator sees nobody by default.
        assert (await call(lonely, "GET", "users")).json()["count"] == 0


async def test_a_member_who_is_no_administrator_sees_their_projects_only(
    fake: FakeKantata,
) -> None:
    records = fake.dataset.records
    member = next(
        u["id"]
        for u in records["users"].values()
        if not records["account_memberships"][u["account_membership_id"]]["is_administrator"]
        and u["id"] in visible(fake)
    )
    projects = {
        p["workspace_id"] for p in records["participations"].values() if p["user_id"] == member
    }
    people = {
        p["user_id"] for p in records["participations"].values() if p["workspace_id"] in projects
    }
    async with FakeKantata(dataset=fake.dataset, me=member) as theirs:
        listed = set(ids(await call(theirs, "GET", "users", params={"per_page": "200"})))
        assert listed == {i for i in people if not records["users"][i]["disabled"]}
        assert listed == visible(theirs) != visible(fake)


@pytest.mark.parametrize(
    ("value", "defaults"),
    [("false", False), ("0", False), ("", False), ("true", True), ("1", True), ("TRUE", True)],
)
async def test_apply_default_filters_is_brainstems_switch(
    fake: FakeKantata, value: str, defaults: bool
) -> None:
    users = fake.dataset.records["users"]
    disabled = next(i for i, u in users.items() if u["disabled"])
    hidden = no_project(fake)[0]
    params = {"per_page": "200", "apply_default_filters": value}
    listed = set(ids(await call(fake, "GET", "users", params=params)))
    by_id = set(
        ids(await call(fake, "GET", "users", params={**params, "only": f"{disabled},{hidden}"}))
    )
    if defaults:
        assert listed == visible(fake) and by_id == set()
    else:
        # Default filters off: the disabled user and the one in no project show; users of
        # the other account who share nothing with you still do not (that is not a filter).
        assert {disabled, hidden} <= listed and by_id == {disabled, hidden}
        outside = {i for i, u in users.items() if u["account_id"] == "2" and i not in visible(fake)}
        assert outside and not listed & outside


# -- fields -----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(COLLECTIONS))
def test_every_documented_field_is_sent_with_a_value(key: str) -> None:
    data = Dataset(users=80, seed=13)
    collection = COLLECTIONS[key]
    everyone = list(data.records[key])
    body = data.envelope(
        key,
        everyone,
        include=list(collection.includes),
        optional_fields=list(collection.optional_fields),
    )
    rendered = [body[key][i] for i in everyone]
    # The ids of includes the fake refuses are never sent: the include is answered 501.
    not_sent = include_fields(key, collection.refused_includes)
    documented = schema_fields(collection.singular)
    for name in sorted(documented if documented is not None else collection.schema):
        if name in not_sent or name == "id":
            continue
        values = [r[name] for r in rendered if name in r]
        assert values, f"{key}.{name} is never sent"
        assert any(v not in (None, [], "") for v in values), f"{key}.{name} is only ever empty"


async def test_the_account_membership_includes_the_sdk_offers_arrive(
    fake: FakeKantata, client: KantataClient
) -> None:
    me = await client.users.get(
        fake.me,
        include=[
            "account_membership.managees",
            "account_membership.possible_managers",
            "account_membership.possible_managees",
        ],
    )
    membership = me.account_membership
    assert membership is not None
    users = fake.dataset.records["users"]
    assert {u.id for u in membership.managees} == {
        i for i, u in users.items() if u["manager_id"] == fake.me
    }
    assert membership.managees and membership.possible_managees
    assert fake.me not in {u.id for u in membership.possible_managers}
    assert all(u.full_name for u in membership.possible_managees)


async def test_last_site_activity_needs_on_my_account_and_an_administrator(
    fake: FakeKantata,
) -> None:
    asked = {"per_page": "200", "optional_fields": "last_site_activity,bio"}
    plain = (await call(fake, "GET", "users", params=asked)).json()["users"]
    assert all("last_site_activity" not in u and "bio" in u for u in plain.values())
    with_it = await call(fake, "GET", "users", params={**asked, "on_my_account": "true"})
    assert any(u.get("last_site_activity") for u in with_it.json()["users"].values())
    records = fake.dataset.records
    member = next(
        u["id"]
        for u in records["users"].values()
        if not records["account_memberships"][u["account_membership_id"]]["is_administrator"]
    )
    async with FakeKantata(dataset=fake.dataset, me=member) as theirs:
        answer = await call(theirs, "GET", "users", params={**asked, "on_my_account": "true"})
        assert all("last_site_activity" not in u for u in answer.json()["users"].values())


# -- the clock --------------------------------------------------------------------------------


def test_the_dataset_is_dated_from_its_clock() -> None:
    now = datetime(2031, 3, 4, 10, 30, tzinfo=UTC)
    data = Dataset(users=40, seed=2, clock=lambda: now)
    midnight = datetime(2031, 3, 4, 0, 0, tzinfo=timezone_minus_7())
    stamps = [
        datetime.fromisoformat(r[f])
        for records in data.records.values()
        for r in records.values()
        for f in ("created_at", "updated_at")
        if r.get(f)
    ]
    assert stamps and all(midnight - timedelta(days=731) < s < midnight for s in stamps)
    assert datetime.fromisoformat(data.stamp()) == now
    assert datetime.fromisoformat(data.stamp()) == now + timedelta(microseconds=1)
    assert (
        Dataset(users=40, seed=2, clock=lambda: now).records
        == Dataset(users=40, seed=2, clock=lambda: now).records
    )
    # The default clock is the current time: the data is recent, not from a fixed year.
    fresh = Dataset(users=5)
    newest = max(u["updated_at"] for u in fresh.records["users"].values())
    assert datetime.now(UTC) - datetime.fromisoformat(newest) < timedelta(days=731)


def timezone_minus_7() -> Any:
    return datetime.fromisoformat("2000-01-01T00:00:00-07:00").tzinfo


async def test_the_readme_sync_example_delivers_a_record_created_in_the_test(
    fake: FakeKantata, client: KantataClient
) -> None:
    today = fake.dataset.today()
    sunday = today + timedelta(days=(6 - today.weekday()) % 7 + 7)
    created = await client.workweek_memberships.create(
        user_id=fake.me, start_date=sunday, monday_minutes=480
    )
    mark = Watermark(datetime(2026, 1, 1, tzinfo=UTC))  # as in the README
    feed = changes(client.workweek_memberships.list, since=mark, include=["user"])
    delivered = {wm.id async for wm in feed}
    assert created.id in delivered
    assert delivered <= set(my_memberships(fake))


# -- writes, bodies and routes ----------------------------------------------------------------


async def test_deleting_a_users_only_membership_is_a_204(fake: FakeKantata) -> None:
    mine = my_memberships(fake)
    counts: dict[int, list[str]] = {}
    for i, wm in mine.items():
        counts.setdefault(wm["user_id"], []).append(i)
    user_id, [only] = next((u, ms) for u, ms in counts.items() if len(ms) == 1)
    params = {"user_ids": str(user_id)}
    assert ids(await call(fake, "GET", "workweek_memberships", params=params)) == [only]
    assert (await call(fake, "DELETE", f"workweek_memberships/{only}")).status == 204
    assert ids(await call(fake, "GET", "workweek_memberships", params=params)) == []
    assert (await call(fake, "DELETE", f"workweek_memberships/{only}")).status == 404


async def test_only_is_never_paginated(fake: FakeKantata) -> None:
    wanted = sorted(visible(fake), key=int)[:12]
    for paging in ({"page": "2", "per_page": "5"}, {"limit": "3", "offset": "4"}, {"page": "9"}):
        answer = await call(fake, "GET", "users", params={"only": ",".join(wanted), **paging})
        assert sorted(ids(answer), key=int) == wanted, paging


Sender = Callable[[FakeKantata], Any]


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/json", 200),
        ("application/json; charset=utf-8", 200),
        ("text/plain", 400),
        ("application/xml", 400),
        ("application/vnd.api+json", 400),
        (None, 400),
    ],
)
async def test_a_body_is_read_only_as_json_or_a_form(
    fake: FakeKantata, content_type: str | None, status: int
) -> None:
    before = fake.dataset.records["users"]["2"]["headline"]
    body = json.dumps({"user": {"headline": "Changed"}}).encode()
    answer = await call(fake, "PUT", "users/2", data=body, content_type=content_type)
    assert answer.status == status, answer.body
    if status == 400:
        assert answer.json() == {
            "errors": [
                {"type": "system", "message": "param is missing or the value is empty: user"}
            ]
        }
        assert fake.dataset.records["users"]["2"]["headline"] == before
    else:
        assert fake.dataset.records["users"]["2"]["headline"] == "Changed"


async def test_a_post_without_a_content_type_is_read_as_a_form_as_rack_does(
    fake: FakeKantata,
) -> None:
    as_json = json.dumps({"workweek_membership": {"user_id": 3, "start_date": "2031-01-05"}})
    assert (await call(fake, "POST", "workweek_memberships", data=as_json.encode())).status == 400
    form = b"workweek_membership[user_id]=3&workweek_membership[start_date]=2031-01-05"
    answer = await call(fake, "POST", "workweek_memberships", data=form)
    assert answer.status == 200, answer.body
    assert answer.json()["workweek_memberships"][ids(answer)[0]]["start_date"] == "2031-01-05"


async def test_rails_array_parameters(fake: FakeKantata) -> None:
    joined = await call(fake, "GET", "workweek_memberships", params={"user_ids": "3,4"})
    array = await call(
        fake, "GET", "workweek_memberships", params=[("user_ids[]", "3"), ("user_ids[]", "4")]
    )
    assert ids(array) == ids(joined) and ids(joined)
    for name in ("include", "by_full_name", "only", "order"):
        answer = await call(fake, "GET", "users", params=[(f"{name}[]", "x")])
        assert answer.status == 400, name
        assert name in answer.json()["errors"][0]["message"]


async def test_email_addresses_may_come_in_a_json_body(fake: FakeKantata) -> None:
    users = fake.dataset.records["users"]
    wanted = sorted(visible(fake), key=int)[:2]
    body = json.dumps({"by_email_addresses": [users[i]["email_address"] for i in wanted]})
    answer = await call(fake, "GET", "users", data=body.encode(), content_type="application/json")
    assert sorted(ids(answer), key=int) == wanted


async def test_head_is_get_without_a_body(fake: FakeKantata) -> None:
    got = await call(fake, "GET", "users", params={"per_page": "3"})
    head = await call(fake, "HEAD", "users", params={"per_page": "3"})
    assert (head.status, head.body) == (200, b"")
    assert head.headers["Content-Type"] == got.headers["Content-Type"]
    assert (await call(fake, "HEAD", "users/999999")).status == 404
    assert (await call(fake, "HEAD", "no_such_things")).status == 404


async def test_patch_reaches_the_update_routes_as_put_does(fake: FakeKantata) -> None:
    body = json.dumps({"user": {"headline": "Patched"}}).encode()
    answer = await call(fake, "PATCH", "users/2", data=body, content_type="application/json")
    assert answer.status == 200 and answer.json()["users"]["2"]["headline"] == "Patched"
    # A custom PUT route is not a resource update: PATCH does not reach it.
    standardize = await call(
        fake,
        "PATCH",
        "workweek_memberships/standardize_to_default",
        data=b"{}",
        content_type="application/json",
    )
    assert standardize.status == 404
    assert (
        await call(
            fake, "PATCH", "account_memberships/1", data=b"{}", content_type="application/json"
        )
    ).status == 400


async def test_a_write_with_a_query_it_refuses_changes_nothing(fake: FakeKantata) -> None:
    before = len(fake.dataset.records["workweek_memberships"])
    body = json.dumps({"workweek_membership": {"user_id": 3, "start_date": "2031-01-05"}})
    for query in ([("include[]", "user")], [("user_ids[x]", "1")]):
        answer = await call(
            fake,
            "POST",
            "workweek_memberships",
            params=query,
            data=body.encode(),
            content_type="application/json",
        )
        assert answer.status == 400, answer.body
    assert len(fake.dataset.records["workweek_memberships"]) == before
