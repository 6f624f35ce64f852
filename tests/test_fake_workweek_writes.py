"""FakeKantata's workweek membership writes: create, standardize to default, update, delete."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from fake_api import SUNDAY, Api, fields, result_ids

from kantata_async.testing import FakeKantata


@pytest.fixture
async def fake() -> AsyncIterator[FakeKantata]:
    async with FakeKantata(users=60, seed=3) as server:
        yield server


# -- workweek membership writes -------------------------------------------------------------


async def test_create_workweek_membership_makes_a_workweek_and_relinks(
    fake: FakeKantata, api: Api
) -> None:
    previous = fake.dataset.workweek_memberships_of("3")[-1]
    assert previous["end_date"] is None
    reply = await api.call(
        "POST",
        "workweek_memberships",
        json={
            "workweek_membership": {
                "user_id": "3",
                "start_date": "2027-01-03",
                "monday_minutes": 300,
                "tuesday_minutes": "240",
            }
        },
        params={"include": "workweek,user"},
    )
    assert reply.status == 200
    body = reply.json()
    [wm_id] = result_ids(body)
    wm = body["workweek_memberships"][wm_id]
    assert (wm["user_id"], wm["start_date"], wm["end_date"]) == (3, "2027-01-03", None)
    workweek = body["workweeks"][wm["workweek_id"]]
    assert workweek["default"] is False
    assert (workweek["monday_minutes"], workweek["tuesday_minutes"]) == (300, 240)
    assert workweek["total_minutes"] == 540
    stored = fake.dataset.records["workweeks"][wm["workweek_id"]]
    assert stored["workweek_membership_ids"] == [wm_id]
    assert "3" in body["users"]
    assert previous["end_date"] == "2027-01-02"  # the earlier one now ends the day before


@pytest.mark.parametrize(
    ("params", "problem_fields"),
    [
        ({"user_id": 99999, "start_date": "2027-01-03"}, ["user_id"]),
        ({"start_date": "2027-01-03"}, ["user_id"]),
        ({"user_id": 3, "start_date": "2027-01-04"}, ["start_date"]),
        ({"user_id": 3}, ["start_date"]),
        ({"user_id": 3, "start_date": "soon"}, ["start_date"]),
        ({"user_id": 3, "start_date": "2027-01-03", "friday_minutes": 2000}, ["friday_minutes"]),
        ({"user_id": 3, "start_date": "2027-01-03", "monday_minutes": "x"}, ["monday_minutes"]),
    ],
)
async def test_create_workweek_membership_validation(
    fake: FakeKantata, api: Api, params: dict[str, Any], problem_fields: list[str]
) -> None:
    count = len(fake.dataset.records["workweek_memberships"])
    reply = await api.call("POST", "workweek_memberships", json={"workweek_membership": params})
    assert reply.status == 422 and fields(reply) == problem_fields
    assert len(fake.dataset.records["workweek_memberships"]) == count


async def test_a_second_membership_on_the_same_start_date_is_refused(
    fake: FakeKantata, api: Api
) -> None:
    start = fake.dataset.workweek_memberships_of("3")[0]["start_date"]
    body = {"workweek_membership": {"user_id": 3, "start_date": start}}
    reply = await api.call("POST", "workweek_memberships", json=body)
    assert reply.status == 422 and fields(reply) == ["start_date"]


async def test_create_workweek_membership_from_a_rails_form(fake: FakeKantata, api: Api) -> None:
    form = {
        "workweek_membership[user_id]": "5",
        "workweek_membership[start_date]": "2027-01-03",
        "workweek_membership[wednesday_minutes]": "120",
    }
    reply = await api.call(
        "POST", "workweek_memberships", data=form, params={"include": "workweek"}
    )
    assert reply.status == 200
    body = reply.json()
    [wm] = body["workweek_memberships"].values()
    assert body["workweeks"][wm["workweek_id"]]["wednesday_minutes"] == 120


async def test_standardize_to_default_switches_to_the_account_workweek(
    fake: FakeKantata, api: Api
) -> None:
    default_id = fake.dataset.default_workweek_id()
    body = {"workweek_membership": {"user_id": 7, "start_date": "2027-01-03"}}
    reply = await api.call(
        "PUT",
        "workweek_memberships/standardize_to_default",
        json=body,
        params={"include": "workweek"},
    )
    assert reply.status == 200
    [wm] = reply.json()["workweek_memberships"].values()
    assert (wm["user_id"], wm["workweek_id"], wm["start_date"]) == (7, default_id, "2027-01-03")
    assert reply.json()["workweeks"][default_id]["default"] is True
    # A membership already starting that day is switched, not duplicated.
    created = await api.call(
        "POST",
        "workweek_memberships",
        json={"workweek_membership": {"user_id": 8, "start_date": "2027-01-03"}},
    )
    [made] = result_ids(created.json())
    body = {"workweek_membership": {"user_id": 8, "start_date": "2027-01-03"}}
    again = await api.call("PUT", "workweek_memberships/standardize_to_default.json", json=body)
    assert result_ids(again.json()) == [made]
    assert fake.dataset.records["workweek_memberships"][made]["workweek_id"] == default_id


async def test_standardize_to_default_starts_today_which_must_be_a_sunday(
    fake: FakeKantata, api: Api
) -> None:
    body = {"workweek_membership": {"user_id": 7}}
    fake.today = SUNDAY
    reply = await api.call("PUT", "workweek_memberships/standardize_to_default", json=body)
    assert reply.status == 200
    [wm] = reply.json()["workweek_memberships"].values()
    assert wm["start_date"] == SUNDAY.isoformat()
    fake.today = SUNDAY + timedelta(days=1)
    monday = await api.call("PUT", "workweek_memberships/standardize_to_default", json=body)
    assert monday.status == 422 and fields(monday) == ["start_date"]
    no_user = {"workweek_membership": {"user_id": "abc", "start_date": "2027-01-03"}}
    bad = await api.call("PUT", "workweek_memberships/standardize_to_default", json=no_user)
    assert bad.status == 422 and fields(bad) == ["user_id"]


async def test_update_workweek_membership(fake: FakeKantata, api: Api) -> None:
    wm = fake.dataset.workweek_memberships_of("3")[-1]
    old_workweek = wm["workweek_id"]
    stamp = wm["updated_at"]
    reply = await api.call(
        "PUT",
        f"workweek_memberships/{wm['id']}",
        json={
            "workweek_membership": {"user_id": 3, "start_date": "2027-01-03", "friday_minutes": 60}
        },
        params={"include": "workweek"},
    )
    assert reply.status == 200
    body = reply.json()
    shown = body["workweek_memberships"][wm["id"]]
    assert shown["start_date"] == "2027-01-03" and shown["updated_at"] > stamp
    workweek = body["workweeks"][shown["workweek_id"]]
    assert workweek["friday_minutes"] == 60 and workweek["default"] is False
    assert (
        wm["id"] not in fake.dataset.records["workweeks"][old_workweek]["workweek_membership_ids"]
    )
    # Its own workweek now: edited in place the next time.
    again = await api.call(
        "PUT",
        f"workweek_memberships/{wm['id']}",
        json={"workweek_membership": {"monday_minutes": 30}},
        params={"include": "workweek"},
    )
    assert again.json()["workweek_memberships"][wm["id"]]["workweek_id"] == shown["workweek_id"]
    assert again.json()["workweeks"][shown["workweek_id"]]["monday_minutes"] == 30
    moved = await api.call(
        "PUT", f"workweek_memberships/{wm['id']}", json={"workweek_membership": {"user_id": 4}}
    )
    assert moved.status == 422 and fields(moved) == ["user_id"]
    tuesday = await api.call(
        "PUT",
        f"workweek_memberships/{wm['id']}",
        json={"workweek_membership": {"start_date": "2027-01-05"}},
    )
    assert tuesday.status == 422 and fields(tuesday) == ["start_date"]
    missing = await api.call(
        "PUT", "workweek_memberships/99999", json={"workweek_membership": {"monday_minutes": 1}}
    )
    assert missing.status == 404


async def test_delete_workweek_membership(fake: FakeKantata, api: Api) -> None:
    mine = fake.dataset.workweek_memberships_of("1")
    created = fake.dataset.add_workweek_membership("1", date(2030, 1, 6))
    assert mine[-1]["end_date"] == "2030-01-05"
    reply = await api.call("DELETE", f"workweek_memberships/{created['id']}.json")
    assert reply.status == 204 and reply.body == b""
    assert (await api.get(f"workweek_memberships/{created['id']}")).status == 404
    assert mine[-1]["end_date"] is None  # relinked
    again = await api.call("DELETE", f"workweek_memberships/{created['id']}")
    assert again.status == 404
