"""FakeKantata's write endpoints for users: PUT users, capacity, the profile photo."""

from __future__ import annotations

from collections.abc import AsyncIterator
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
