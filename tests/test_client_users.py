"""Every Users operation, through the real client, against the fake server."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from conftest import visible

from kantata_async import (
    AccountMembership,
    Capacity,
    FieldNotLoadedError,
    KantataClient,
    NotFoundError,
    Page,
    User,
)
from kantata_async.testing import FakeKantata


async def test_list_first_page_sends_typed_params_and_links_the_graph(
    fake: FakeKantata, client: KantataClient
) -> None:
    page = await client.users.list(
        on_my_account=True, include=["account_membership", "role"], per_page=10
    )

    assert isinstance(page, Page)
    assert len(page.items) == 10
    assert all(isinstance(u, User) for u in page.items)
    total = len(visible(fake, on_my_account=True))
    assert page.count == total
    assert page.page_count == -(-total // 10)
    assert page.page_number == 1
    assert page.has_next_page()

    [request] = fake.requests
    assert request.method == "GET"
    assert request.path == "users"
    assert request.query["on_my_account"] == "true"
    assert request.query["include"] == "account_membership,role"
    assert request.query["per_page"] == "10"
    assert request.query["page"] == "1"
    assert request.headers["authorization"] == f"Bearer {fake.token}"
    assert request.headers["user-agent"].startswith("kantata_async/")

    first = page.items[0]
    assert client.graph.get(User, first.id) is first
    membership = first.account_membership
    assert isinstance(membership, AccountMembership)
    assert membership.user is first
    assert first.role is not None
    assert first.role.name


async def test_next_page_and_iteration_walk_every_user_once(
    fake: FakeKantata, client: KantataClient
) -> None:
    page = await client.users.list(per_page=25)
    second = await page.next_page()
    assert second.page_number == 2
    assert {u.id for u in page.items}.isdisjoint(u.id for u in second.items)

    names = [u.full_name async for u in client.users.list(per_page=25)]
    assert len(names) == len(visible(fake))
    assert names == sorted(names, key=str.casefold) or names == sorted(names)


async def test_order_desc_and_filters_reach_the_server(
    fake: FakeKantata, client: KantataClient
) -> None:
    after = datetime(2024, 1, 1, tzinfo=UTC)
    await client.users.list(
        order="alphabetical:desc",
        by_full_name="ann",
        with_users=["1", 2],
        show_disabled=False,
        updated_after=after,
        with_skills={"3": [1, 2], "operation": "or"},
    )
    query = fake.requests[-1].query
    assert query["order"] == "alphabetical:desc"
    assert query["by_full_name"] == "ann"
    assert query["with_users"] == "1,2"
    assert query["show_disabled"] == "false"
    assert query["updated_after"] == after.isoformat()
    assert query["with_skills"] == '{"3":[1,2],"operation":"or"}'


async def test_iteration_stops_on_an_empty_page_when_the_count_lies_high(
    fake: FakeKantata, client: KantataClient
) -> None:
    fake.count_offset = 100
    walk = client.users.list(per_page=20)
    ids = [u.id async for u in walk]
    assert len(ids) == len(set(ids)) == len(visible(fake))
    assert walk.stats.count_drift == -100
    requested = [int(r.query["page"]) for r in fake.requests]
    assert len(requested) == len(set(requested))  # no page asked for twice
    claimed_pages = -(-(len(ids) + 100) // 20)
    assert max(requested) <= claimed_pages


async def test_a_sequential_walk_stops_at_the_first_empty_page(
    fake: FakeKantata, client: KantataClient
) -> None:
    fake.count_offset = 100
    total = len(visible(fake))
    # A page size that fills the last real page, so only an empty page can end the walk.
    size = next(p for p in range(10, total) if total % p == 0)
    pages = [p async for p in client.users.list(per_page=size).pages(concurrency=1)]
    real_pages = total // size
    assert [p.page_number for p in pages] == list(range(1, real_pages + 1))
    requested = [int(r.query["page"]) for r in fake.requests]
    assert requested == [*range(1, real_pages + 1), real_pages + 1]


@pytest.mark.parametrize(("count_offset", "after_short"), [(0, 0), (100, 1)])
async def test_a_short_page_ends_the_walk_only_at_the_announced_end(
    fake: FakeKantata, client: KantataClient, count_offset: int, after_short: int
) -> None:
    # With a count that lies high by 100, the real last (short) page comes before the last
    # page announced: the walk asks for the next page too, whose emptiness ends it.
    fake.count_offset = count_offset
    total = len(visible(fake))
    size = next(p for p in range(10, total) if total % p != 0)
    pages = [p async for p in client.users.list(per_page=size).pages(concurrency=1)]
    assert len(pages[-1].items) < size
    requested = [int(r.query["page"]) for r in fake.requests]
    assert requested == list(range(1, total // size + 2 + after_short))


async def test_iteration_probes_past_a_count_that_lies_low(
    fake: FakeKantata, client: KantataClient
) -> None:
    fake.count_offset = -45
    ids = [u.id async for u in client.users.list(per_page=10)]
    assert len(ids) == len(set(ids)) == len(visible(fake))


async def test_me_with_skills(fake: FakeKantata, client: KantataClient) -> None:
    me = await client.users.me(include=["skills"])
    assert fake.requests[-1].path == "users/me"
    assert fake.requests[-1].query["include"] == "skills"
    assert me.skills
    assert {s.id for s in me.skills} == set(fake.dataset.records["users"][me.id]["skill_ids"])


async def test_get_with_optional_fields(fake: FakeKantata, client: KantataClient) -> None:
    user = await client.users.get("3", optional_fields=["bio"])
    assert fake.requests[-1].query["optional_fields"] == "bio"
    assert user.bio == fake.dataset.records["users"]["3"]["bio"]
    with pytest.raises(FieldNotLoadedError, match="optional_fields=\\['city'\\]"):
        _ = user.city


async def test_get_unknown_user_is_not_found(client: KantataClient) -> None:
    with pytest.raises(NotFoundError) as info:
        await client.users.get("999999")
    assert info.value.status == 404
    assert str(info.value).startswith("404 GET users/999999: ")


async def test_update_sends_only_given_fields_and_updates_held_objects(
    fake: FakeKantata, client: KantataClient
) -> None:
    held = await client.users.get("4")
    before = held.full_name
    updated = await client.users.update("4", headline="Lead")

    request = fake.requests[-1]
    assert (request.method, request.path) == ("PUT", "users/4")
    assert request.json == {"user": {"headline": "Lead"}}
    assert updated is held
    assert held.headline == "Lead"
    assert held.full_name == before


async def test_update_rejects_bad_input_before_sending(
    fake: FakeKantata, client: KantataClient
) -> None:
    with pytest.raises(ValueError, match="nothing to send"):
        await client.users.update("4")
    with pytest.raises(ValueError, match="email_address does not look like an address"):
        await client.users.update("4", email_address="nope")
    with pytest.raises(ValueError, match="external_reference needs service_model"):
        await client.users.update(
            "4", external_reference={"service_name": "hris", "service_model_ref": "E-1"}
        )
    assert fake.requests == []


async def test_capacity_is_typed(fake: FakeKantata, client: KantataClient) -> None:
    cap = await client.users.capacity("2", start_date=date(2026, 1, 4), end_date=date(2026, 1, 10))
    request = fake.requests[-1]
    assert request.path == "users/2/capacity"
    assert request.query == {"start_date": "2026-01-04", "end_date": "2026-01-10"}
    assert isinstance(cap, Capacity)
    assert cap.start_date == date(2026, 1, 4)
    assert cap.end_date == date(2026, 1, 10)
    assert all(isinstance(d, date) for d in cap.hours)
    assert all(isinstance(h, float) for h in cap.hours.values())
    assert cap.total_hours == sum(cap.hours.values())


async def test_capacity_checks_its_dates(fake: FakeKantata, client: KantataClient) -> None:
    with pytest.raises(ValueError, match="before start_date"):
        await client.users.capacity("2", start_date=date(2026, 2, 1), end_date=date(2026, 1, 1))
    assert fake.requests == []


@pytest.mark.parametrize("form", ["bytes", "path", "file"])
async def test_update_profile_photo_sends_multipart(
    fake: FakeKantata, client: KantataClient, tmp_path: Path, form: str
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    held = await client.users.get("5")
    old_path = held.photo_path
    photo: object
    if form == "bytes":
        photo = png
    elif form == "path":
        photo = tmp_path / "me.png"
        photo.write_bytes(png)
    else:
        photo = io.BytesIO(png)
    user = await client.users.update_profile_photo("5", photo, filename="me.png")  # type: ignore[arg-type]

    request = fake.requests[-1]
    assert (request.method, request.path) == ("POST", "users/5/profile_photo")
    assert request.form is not None
    assert "user[profile_photo_attachment_file]" in request.form
    assert png in request.body
    assert user is held
    assert held.photo_path != old_path


async def test_reset_profile_photo(fake: FakeKantata, client: KantataClient) -> None:
    held = await client.users.get("6")
    assert held.photo_path
    assert await client.users.reset_profile_photo("6") is None
    request = fake.requests[-1]
    assert (request.method, request.path) == ("DELETE", "users/6/profile_photo")
    # The server did not say the new path, so the graph no longer claims to know it.
    with pytest.raises(FieldNotLoadedError):
        _ = held.photo_path
    assert (await client.users.get("6")).photo_path is not None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"include": ["roles"]}, "include: 'roles' is not valid here; choose from: "),
        ({"include": "role"}, "must be a list of names"),
        ({"optional_fields": ["salary"]}, "optional_fields: 'salary' is not valid"),
        ({"order": "name:asc"}, "order='name:asc' is not valid; choose one of: alphabetical:asc"),
        ({"per_page": 500}, "per_page must be an int from 1 to 200"),
        ({"only": ["1/../oauth"]}, "only must be a Kantata id"),
        ({"created_after": datetime(2026, 1, 1)}, "timezone-aware"),  # noqa: DTZ001
        ({"on_my_account": "yes"}, "on_my_account must be a bool"),
        ({"account_id": 3, "on_my_account": True}, "cannot be combined with on_my_account"),
        ({"by_email_addresses": ["a@x.com"] * 201}, "at most 200"),
    ],
)
async def test_bad_list_parameters_fail_before_any_request(
    fake: FakeKantata, client: KantataClient, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(")):
        await client.users.list(**kwargs)  # type: ignore[arg-type]
    assert fake.requests == []


@pytest.mark.parametrize("bad", ["1/../../oauth", "abc", "", "12 ", -1])
async def test_path_ids_must_be_kantata_ids(
    fake: FakeKantata, client: KantataClient, bad: object
) -> None:
    with pytest.raises(ValueError, match="must be a Kantata id"):
        await client.users.get(bad)  # type: ignore[arg-type]
    assert fake.requests == []


async def test_objects_from_different_calls_are_the_same_instances(
    client: KantataClient,
) -> None:
    page = await client.users.list(include=["manager"], per_page=50)
    by_id = {u.id: u for u in page.items}
    one = await client.users.get("7")
    assert by_id.get("7", one) is one
    again = await client.users.get("7")
    assert again is one
