"""FakeKantata's write endpoints: users, capacity, the profile photo, workweek memberships."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import aiohttp
import pytest
from fake_api import PHOTO, SUNDAY, Api, errors, fields, result_ids, users_of

from kantata_async.testing import FakeKantata, UploadedFile


@pytest.fixture
async def fake() -> AsyncIterator[FakeKantata]:
    async with FakeKantata(users=60, seed=3) as server:
        yield server


# -- PUT users ------------------------------------------------------------------------------


async def test_put_user_updates_fields_and_returns_the_envelope(
    fake: FakeKantata, api: Api
) -> None:
    before = dict(users_of(fake)["3"])
    reply = await api.call(
        "PUT",
        "users/3",
        json={"user": {"full_name": "Aaron Aardvark", "headline": "Boss", "ignored": 1}},
        params={"include": "role", "optional_fields": "bio"},
    )
    assert reply.status == 200
    body = reply.json()
    assert body["results"] == [{"key": "users", "id": "3"}]
    record = body["users"]["3"]
    assert (record["full_name"], record["headline"]) == ("Aaron Aardvark", "Boss")
    assert "bio" in record and record["role_id"] in body["roles"]
    stored = users_of(fake)["3"]
    assert "ignored" not in stored
    assert stored["updated_at"] > before["updated_at"]  # kept for updated_after filters
    assert result_ids(await api.ok("users"))[0] == "3"  # sorts first now


async def test_put_user_accepts_rails_form_fields(fake: FakeKantata, api: Api) -> None:
    reply = await api.call(
        "PUT", "users/4", data={"user[full_name]": "Form Person", "user[headline]": "Via form"}
    )
    assert reply.status == 200
    assert users_of(fake)["4"]["full_name"] == "Form Person"
    assert fake.requests[-1].form == {
        "user[full_name]": "Form Person",
        "user[headline]": "Via form",
    }


@pytest.mark.parametrize(
    ("user", "problem_fields"),
    [
        ({"full_name": "  "}, ["full_name"]),
        ({"email_address": "not-an-email"}, ["email_address"]),
        ({"full_name": "", "email_address": "x@"}, ["full_name", "email_address"]),
        ({"headline": 5}, ["headline"]),
        (
            {"external_reference": {"service_name": "crm"}},
            [
                "external_reference.service_model",
                "external_reference.service_model_ref",
            ],
        ),
        (
            {
                "external_reference": {
                    **{k: "x" for k in ("service_name", "service_model", "service_model_ref")},
                    "status": "meh",
                }
            },
            ["external_reference.status"],
        ),
    ],
)
async def test_put_user_validation_errors_name_their_fields(
    fake: FakeKantata, api: Api, user: dict[str, Any], problem_fields: list[str]
) -> None:
    before = dict(users_of(fake)["3"])
    reply = await api.call("PUT", "users/3", json={"user": user})
    assert reply.status == 422
    assert fields(reply) == problem_fields
    assert users_of(fake)["3"] == before  # nothing changed


async def test_put_user_rejects_an_email_taken_by_someone_else(fake: FakeKantata, api: Api) -> None:
    taken = users_of(fake)["5"]["email_address"]
    reply = await api.call("PUT", "users/3", json={"user": {"email_address": taken.upper()}})
    assert reply.status == 422 and fields(reply) == ["email_address"]
    own = users_of(fake)["3"]["email_address"]
    assert (await api.call("PUT", "users/3", json={"user": {"email_address": own}})).status == 200


async def test_put_user_creates_then_updates_an_external_reference(
    fake: FakeKantata, api: Api
) -> None:
    ref = {"service_name": "crm", "service_model": "Contact", "service_model_ref": "C-3"}
    reply = await api.call(
        "PUT",
        "users/3",
        json={"user": {"external_reference": {**ref, "locked": True}}},
        params={"include": "external_references"},
    )
    body = reply.json()
    ids = body["users"]["3"]["external_reference_ids"]
    assert len(ids) == 2
    created = body["external_references"][ids[-1]]
    assert created["subject_id"] == 3 and created["locked"] is True
    await api.call(
        "PUT",
        "users/3",
        json={"user": {"external_reference": {**ref, "external_status": "archived"}}},
    )
    stored = fake.dataset.records["external_references"][ids[-1]]
    assert stored["external_status"] == "archived"
    assert users_of(fake)["3"]["external_reference_ids"] == ids


async def test_put_user_body_problems(fake: FakeKantata, api: Api) -> None:
    no_wrapper = await api.call("PUT", "users/3", json={"full_name": "X"})
    assert no_wrapper.status == 400 and errors(no_wrapper)[0]["type"] == "system"
    broken = await api.call(
        "PUT", "users/3", data=b'{"user": {', headers={"Content-Type": "application/json"}
    )
    assert broken.status == 400 and errors(broken)[0]["type"] == "system"
    assert fake.requests[-1].json is None and fake.requests[-1].body == b'{"user": {'
    missing = await api.call("PUT", "users/99999", json={"user": {"full_name": "X"}})
    assert missing.status == 404
    disabled = await api.call("PUT", "users/20", json={"user": {"full_name": "X"}})
    assert disabled.status == 404


# -- capacity -------------------------------------------------------------------------------


async def test_capacity_reports_hours_per_day_from_the_workweek(
    fake: FakeKantata, api: Api
) -> None:
    fake.dataset.add_workweek_membership(
        "3", SUNDAY, minutes={"monday": 480, "tuesday": 450, "friday": 240}
    )
    body = await api.ok("users/3/capacity", start_date="2025-03-02", end_date="2025-03-09")
    assert body == {
        "start_date": "2025-03-02",
        "end_date": "2025-03-09",
        "hours": {
            "2025-03-02": 0.0,
            "2025-03-03": 8.0,
            "2025-03-04": 7.5,
            "2025-03-05": 0.0,
            "2025-03-06": 0.0,
            "2025-03-07": 4.0,
            "2025-03-08": 0.0,
            "2025-03-09": 0.0,
        },
    }


async def test_capacity_before_any_membership_uses_the_default_workweek(api: Api) -> None:
    body = await api.ok("users/3/capacity", start_date="2020-01-05", end_date="2020-01-11")
    assert list(body["hours"].values()) == [0.0, 8.0, 8.0, 8.0, 8.0, 8.0, 0.0]


@pytest.mark.parametrize(
    ("params", "problem_fields"),
    [
        ({}, ["start_date", "end_date"]),
        ({"start_date": "2025-03-02"}, ["end_date"]),
        ({"start_date": "2025-13-02", "end_date": "2025-03-09"}, ["start_date"]),
        ({"start_date": "2025-03-09", "end_date": "2025-03-02"}, ["end_date"]),
    ],
)
async def test_capacity_needs_two_ordered_dates(
    api: Api, params: dict[str, str], problem_fields: list[str]
) -> None:
    reply = await api.get("users/3/capacity", **params)
    assert reply.status == 422 and fields(reply) == problem_fields


# -- profile photo --------------------------------------------------------------------------


async def test_profile_photo_upload_and_reset(fake: FakeKantata, api: Api) -> None:
    form = aiohttp.FormData()
    form.add_field(PHOTO, b"\x89PNG\r\n\x1a\nfake", filename="me.png", content_type="image/png")
    reply = await api.call("POST", "users/3/profile_photo", data=form, params={"include": "role"})
    assert reply.status == 200
    body = reply.json()
    path = body["users"]["3"]["photo_path"]
    assert path.startswith("/images/profile_photos/3/") and path.endswith(".png")
    assert users_of(fake)["3"]["photo_path"] == path
    upload = fake.requests[-1].form
    assert upload is not None
    part = upload[PHOTO]
    assert isinstance(part, UploadedFile)
    assert (part.filename, part.content_type, part.data) == (
        "me.png",
        "image/png",
        b"\x89PNG\r\n\x1a\nfake",
    )
    deleted = await api.call("DELETE", "users/3/profile_photo")
    assert deleted.status == 204 and deleted.body == b""
    assert users_of(fake)["3"]["photo_path"] != path


async def test_profile_photo_needs_the_multipart_part(fake: FakeKantata, api: Api) -> None:
    form = aiohttp.FormData()
    form.add_field("photo", b"data", filename="me.png")
    wrong_name = await api.call("POST", "users/3/profile_photo", data=form)
    assert wrong_name.status == 422 and fields(wrong_name) == ["profile_photo_attachment_file"]
    as_json = await api.call(
        "POST", "users/3/profile_photo", json={"user": {"profile_photo_attachment_file": "x"}}
    )
    assert as_json.status == 422
    assert users_of(fake)["3"]["photo_path"] == "/images/avatars/3.png"


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
