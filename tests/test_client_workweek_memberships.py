"""Every Workweek Memberships operation, through the real client, against the fake server."""

from __future__ import annotations

from datetime import date

import pytest

from kantata_async import (
    KantataClient,
    NotFoundError,
    UnprocessableEntityError,
    User,
    Workweek,
    WorkweekMembership,
)
from kantata_async.testing import FakeKantata

SUNDAY = date(2026, 1, 4)


async def test_list_filters_by_users_and_links_user_and_workweek(
    fake: FakeKantata, client: KantataClient
) -> None:
    seen = [
        wm
        async for wm in client.workweek_memberships.list(
            user_ids=["12", 13], include=["user", "workweek"]
        )
    ]
    query = fake.requests[0].query
    assert query["user_ids"] == "12,13"
    assert query["include"] == "user,workweek"

    expected = {
        i
        for i, r in fake.dataset.records["workweek_memberships"].items()
        if str(r["user_id"]) in {"12", "13"}
    }
    assert {wm.id for wm in seen} == expected
    for wm in seen:
        assert isinstance(wm, WorkweekMembership)
        assert wm.user_id in {"12", "13"}  # an int on the wire, a str here
        assert isinstance(wm.user, User)
        assert isinstance(wm.workweek, Workweek)
        # The inverse link, derived from workweek_membership.user_id alone:
        assert wm in wm.user.workweek_memberships
    starts = [wm.start_date for wm in seen]
    assert starts == sorted(starts)


async def test_create_get_update_standardize_delete(
    fake: FakeKantata, client: KantataClient
) -> None:
    created = await client.workweek_memberships.create(
        user_id="12", start_date=SUNDAY, monday_minutes=480, friday_minutes=300, include=["user"]
    )
    request = fake.requests[-1]
    assert (request.method, request.path) == ("POST", "workweek_memberships")
    assert request.json == {
        "workweek_membership": {
            "user_id": 12,
            "start_date": "2026-01-04",
            "monday_minutes": 480,
            "friday_minutes": 300,
        }
    }
    assert created.start_date == SUNDAY
    assert created.user_id == "12"

    fetched = await client.workweek_memberships.get(created.id, include=["workweek"])
    assert fetched is created
    assert fetched.workweek is not None
    assert fetched.workweek.monday_minutes == 480

    updated = await client.workweek_memberships.update(created.id, friday_minutes=240)
    assert fake.requests[-1].json == {"workweek_membership": {"friday_minutes": 240}}
    # The held membership has its user and workweek loaded: the update brings them back.
    assert fake.requests[-1].query["include"] == "user,workweek"
    assert updated is created
    assert created.workweek is not None
    assert created.workweek.friday_minutes == 240

    fake.requests.clear()
    default = await client.workweek_memberships.standardize_to_default(
        user_id="12", start_date=date(2026, 2, 1)
    )
    request = fake.requests[0]
    assert (request.method, request.path) == ("PUT", "workweek_memberships/standardize_to_default")
    assert request.json == {"workweek_membership": {"user_id": 12, "start_date": "2026-02-01"}}
    assert default.start_date == date(2026, 2, 1)

    # The switch moved the end of the held membership: the user's memberships were listed
    # again (with the workweek the held one had loaded), which also makes the list complete.
    [(refresh, _)] = [(r.path, r) for r in fake.requests[1:]]
    assert refresh == "workweek_memberships"
    assert fake.requests[1].query["user_ids"] == "12"
    assert fake.requests[1].query["include"] == "user,workweek"
    assert created.end_date == date(2026, 1, 31)
    user = client.graph.get(User, "12")
    assert user is not None
    assert created in user.workweek_memberships
    fake.requests.clear()
    await client.workweek_memberships.delete(created.id)
    request = fake.requests[0]
    assert (request.method, request.path) == ("DELETE", f"workweek_memberships/{created.id}")
    assert client.graph.get(WorkweekMembership, created.id) is None
    assert created not in user.workweek_memberships
    with pytest.raises(NotFoundError):
        await client.workweek_memberships.get(created.id)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("create_monday", "start_date must be a Sunday"),
        ("create_minutes", "monday_minutes must be from 0 to 1440"),
        ("update_nothing", "nothing to send"),
        ("update_saturday", "start_date must be a Sunday"),
        ("bad_include", "include: 'users' is not valid here; choose from: user, user\\."),
        ("bad_order", "order='alphabetical:asc' is not valid"),
    ],
)
async def test_bad_input_fails_before_any_request(
    fake: FakeKantata, client: KantataClient, call: str, message: str
) -> None:
    wms = client.workweek_memberships
    with pytest.raises(ValueError, match=message):
        if call == "create_monday":
            await wms.create(user_id="12", start_date=date(2026, 1, 5))
        elif call == "create_minutes":
            await wms.create(user_id="12", start_date=SUNDAY, monday_minutes=2000)
        elif call == "update_nothing":
            await wms.update("1")
        elif call == "update_saturday":
            await wms.update("1", start_date=date(2026, 1, 3))
        elif call == "bad_include":
            await wms.get("1", include=["users"])
        else:
            await wms.list(order="alphabetical:asc")
    assert fake.requests == []


async def test_server_side_validation_is_a_422_with_field_errors(client: KantataClient) -> None:
    with pytest.raises(UnprocessableEntityError) as info:
        await client.workweek_memberships.create(user_id="987654", start_date=SUNDAY)
    err = info.value
    assert err.status == 422
    assert "user_id" in err.field_errors
    assert str(err).startswith("422 POST workweek_memberships: ")
    assert "(field: user_id)" in str(err)
