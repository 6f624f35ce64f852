"""FakeKantata answers like the real API: envelopes, pages, includes, order, routes, auth."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import aiohttp
import pytest
from conftest import my_memberships
from fake_api import Api, alphabetical, errors, result_ids, users_of

from kantata_async.testing import FakeKantata


@pytest.fixture
async def fake() -> AsyncIterator[FakeKantata]:
    async with FakeKantata(users=60, seed=3) as server:
        yield server


# -- envelope, meta, pagination -----------------------------------------------------------


async def test_list_envelope_has_count_meta_results_and_keyed_records(
    fake: FakeKantata, api: Api
) -> None:
    visible = alphabetical(fake)
    body = await api.ok("users", per_page="7", page="2")
    assert list(body) == ["count", "meta", "results", "users"]
    total = len(visible)
    assert body["count"] == total
    assert body["meta"] == {
        "count": total,
        "page_count": math.ceil(total / 7),
        "page_number": 2,
        "page_size": 7,
    }
    assert body["results"] == [{"key": "users", "id": i} for i in visible[7:14]]
    assert list(body["users"]) == visible[7:14]
    for uid, record in body["users"].items():
        assert record["id"] == uid
        assert {"full_name", "email_address", "headline", "photo_path"} <= set(record)
        assert "created_at" not in record  # kept for filters, never presented


@pytest.mark.parametrize(
    ("params", "page_number", "page_size", "first"),
    [
        ({}, 1, 20, 0),
        ({"per_page": "500"}, 1, 200, 0),
        ({"per_page": "0"}, 1, 20, 0),
        ({"per_page": "-3"}, 1, 20, 0),
        ({"per_page": "abc"}, 1, 20, 0),
        ({"page": "0"}, 0, 20, 0),
        ({"page": "-2"}, -2, 20, 0),
        ({"page": "x"}, 0, 20, 0),
        ({"page": "3", "per_page": "25"}, 3, 25, 50),
    ],
)
async def test_page_and_per_page_are_clamped_and_the_page_number_echoed(
    fake: FakeKantata,
    api: Api,
    params: dict[str, str],
    page_number: int,
    page_size: int,
    first: int,
) -> None:
    visible = alphabetical(fake)
    body = await api.ok("users", **params)
    assert body["meta"] == {
        "count": len(visible),
        "page_count": math.ceil(len(visible) / page_size),
        "page_number": page_number,
        "page_size": page_size,
    }
    assert result_ids(body) == visible[first : first + page_size]


async def test_a_page_past_the_end_is_empty_but_keeps_the_count(
    fake: FakeKantata, api: Api
) -> None:
    body = await api.ok("users", page="9")
    assert body["results"] == [] and body["users"] == {}
    total = len(alphabetical(fake))
    assert body["meta"] == {
        "count": total,
        "page_count": math.ceil(total / 20),
        "page_number": 9,
        "page_size": 20,
    }


async def test_no_match_gives_zero_page_count_and_page_number(api: Api) -> None:
    body = await api.ok("users", by_full_name="nobody has this name", page="4")
    assert body["count"] == 0
    assert body["meta"] == {"count": 0, "page_count": 0, "page_number": 0, "page_size": 20}
    assert body["results"] == [] and body["users"] == {}


@pytest.mark.parametrize(
    ("params", "start", "size"),
    [
        ({"limit": "5", "offset": "3"}, 3, 5),
        ({"limit": "0", "offset": "2"}, 2, 1),
        ({"limit": "999", "offset": "-4"}, 0, 200),
        ({"limit": "5", "offset": "3", "page": "2", "per_page": "10"}, 3, 5),
        ({"limit": "5", "page": "2", "per_page": "10"}, 10, 10),  # limit alone: ignored
        ({"offset": "5"}, 0, 20),
    ],
)
async def test_limit_and_offset_apply_only_together(
    fake: FakeKantata, api: Api, params: dict[str, str], start: int, size: int
) -> None:
    body = await api.ok("users", **params)
    assert result_ids(body) == alphabetical(fake)[start : start + size]
    assert body["count"] == len(alphabetical(fake))


async def test_walking_every_page_yields_every_visible_user_once(
    fake: FakeKantata, api: Api
) -> None:
    seen: list[str] = []
    page = 1
    while True:
        body = await api.ok("users", page=str(page), per_page="13")
        seen += result_ids(body)
        if page >= body["meta"]["page_count"]:
            break
        page += 1
    assert seen == alphabetical(fake)


# -- include, optional_fields, only -------------------------------------------------------


async def test_include_adds_ids_and_sideloads_and_drops_unknown_and_dotted_names(
    api: Api,
) -> None:
    body = await api.ok(
        "users", only="5", include="role,skills,nonsense,account_membership.skill_memberships"
    )
    record = body["users"]["5"]
    assert record["role_id"] in body["roles"]
    assert set(record["skill_ids"]) == set(body["skills"])
    assert "nonsense" not in body
    assert "account_memberships" not in body and "account_membership_id" not in record
    assert "skill_memberships" not in body


async def test_included_keys_exist_even_when_nothing_is_included(
    fake: FakeKantata, api: Api
) -> None:
    lonely = next(
        u["id"] for u in users_of(fake).values() if not u["work_sample_ids"] and not u["disabled"]
    )
    body = await api.ok("users", only=lonely, include="work_samples")
    assert body["work_samples"] == {}
    assert body["users"][lonely]["work_sample_ids"] == []


async def test_nested_includes_are_fetched_with_only_on_the_next_level(
    fake: FakeKantata, api: Api
) -> None:
    users = await api.ok("users", per_page="3", include="account_membership")
    am_ids = [u["account_membership_id"] for u in users["users"].values()]
    body = await api.ok("account_memberships", only=",".join(am_ids), include="skill_memberships")
    assert sorted(result_ids(body), key=int) == sorted(am_ids, key=int)
    for am in body["account_memberships"].values():
        assert set(am["skill_membership_ids"]) <= set(body["skill_memberships"])
        assert (
            am["skill_membership_ids"]
            == (fake.dataset.records["account_memberships"][am["id"]]["skill_membership_ids"])
        )


async def test_optional_fields_appear_only_when_asked(api: Api) -> None:
    plain = (await api.ok("users/3"))["users"]["3"]
    assert "bio" not in plain and "city" not in plain
    asked = (await api.ok("users/3", optional_fields="bio, city,nope"))["users"]["3"]
    assert "bio" in asked and "city" in asked and "nope" not in asked
    assert "country" not in asked


async def test_only_returns_every_listed_visible_id_unpaginated(
    fake: FakeKantata, api: Api
) -> None:
    disabled = next(u["id"] for u in users_of(fake).values() if u["disabled"])
    body = await api.ok("users", only=f"3,5,zz,9999,{disabled},5", per_page="1")
    assert result_ids(body) == sorted(["3", "5"], key=lambda i: alphabetical(fake).index(i))
    assert body["meta"] == {"count": 2, "page_count": 2, "page_number": 1, "page_size": 1}
    body = await api.ok("users", only=",".join(alphabetical(fake)[:30]))
    assert len(body["results"]) == 30  # `only` is not paginated
    shown = await api.ok("users", only=disabled, show_disabled="true")
    assert result_ids(shown) == [disabled]


# -- order and search -----------------------------------------------------------------------


async def test_users_order_alphabetically_both_ways_and_unknown_orders_fall_back(
    fake: FakeKantata, api: Api
) -> None:
    asc = alphabetical(fake)
    assert result_ids(await api.ok("users", per_page="200")) == asc
    assert result_ids(await api.ok("users", per_page="200", order="alphabetical:asc")) == asc
    desc = await api.ok("users", per_page="200", order="alphabetical:desc")
    assert result_ids(desc) == asc[::-1]
    assert result_ids(await api.ok("users", per_page="200", order="shoe_size:desc")) == asc
    assert result_ids(await api.ok("users", per_page="200", order="alphabetical:up")) == asc


async def test_workweek_memberships_order_by_start_date(fake: FakeKantata, api: Api) -> None:
    store = my_memberships(fake)
    assert len(store) < len(fake.dataset.records["workweek_memberships"])  # account 2's hidden
    asc = sorted(store, key=lambda i: (store[i]["start_date"], int(i)))
    assert result_ids(await api.ok("workweek_memberships", per_page="200")) == asc[:200]
    desc = await api.ok("workweek_memberships", per_page="200", order="start_date:desc")
    assert result_ids(desc) == asc[::-1][:200]


async def test_other_keys_order_by_their_documented_default(fake: FakeKantata, api: Api) -> None:
    skills = fake.dataset.records["skills"]
    by_name = sorted(skills, key=lambda i: (skills[i]["name"].casefold(), int(i)))
    # `name` is no documented order of skills: the default (alphabetical:asc) is used.
    body = await api.ok("skills", per_page="200", order="name:desc")
    assert result_ids(body) == by_name
    desc = await api.ok("skills", per_page="200", order="alphabetical:desc")
    assert result_ids(desc) == by_name[::-1]
    references = fake.dataset.records["external_references"]
    newest = sorted(
        references, key=lambda i: (references[i]["last_synced_at"], int(i)), reverse=True
    )
    body = await api.ok("external_references", per_page="200")  # last_synced_at:desc
    assert result_ids(body) == newest[:200]


async def test_search_matches_name_or_email_in_any_case(fake: FakeKantata, api: Api) -> None:
    target = users_of(fake)["4"]
    first = target["full_name"].split()[0]
    body = await api.ok("users", search=first.upper(), per_page="200")
    expected = [
        i
        for i in alphabetical(fake)
        if first.casefold() in users_of(fake)[i]["full_name"].casefold()
        or first.casefold() in users_of(fake)[i]["email_address"]
    ]
    assert result_ids(body) == expected and "4" in expected
    by_email = await api.ok("users", search=".4@EXAMPLE")
    assert result_ids(by_email) == ["4"]
    # search does not apply to `only` requests
    assert result_ids(await api.ok("users", search="zzz", only="4")) == ["4"]


# -- show routes, the other keys, 404 and 401 ---------------------------------------------


@pytest.mark.parametrize("path", ["users/3", "users/3.json"])
async def test_show_routes_accept_the_json_suffix(fake: FakeKantata, api: Api, path: str) -> None:
    body = await api.ok(path, include="role")
    assert body["results"] == [{"key": "users", "id": "3"}]
    assert body["meta"] == {"count": 1, "page_count": 1, "page_number": 1, "page_size": 20}
    assert body["users"]["3"]["role_id"] in body["roles"]
    assert (await api.ok("users.json", per_page="2"))["count"] == len(alphabetical(fake))


async def test_users_me_is_the_tokens_user(api: Api) -> None:
    body = await api.ok("users/me")
    assert result_ids(body) == ["1"]
    async with (
        FakeKantata(users=10, seed=3, me="4") as other,
        aiohttp.ClientSession() as session,
    ):
        assert result_ids(await Api(other, session).ok("users/me.json")) == ["4"]


@pytest.mark.parametrize(
    "key",
    [
        "account_memberships",
        "skill_memberships",
        "skills",
        "roles",
        "workweeks",
        "custom_field_values",
        "external_references",
    ],
)
async def test_every_key_lists_and_shows(fake: FakeKantata, api: Api, key: str) -> None:
    store = fake.dataset.records[key]
    body = await api.ok(key, per_page="5")
    assert 0 < body["count"] <= len(store)
    ids = result_ids(body)
    assert len(ids) == min(5, body["count"]) and set(ids) <= set(store)
    some = ids[1]
    if key == "external_references":
        # Kantata documents no show route for them (only DELETE): no route matches.
        assert (await api.get(f"{key}/{some}")).status == 404
        return
    shown = await api.ok(f"{key}/{some}.json")
    assert shown[key][some]["id"] == some
    assert (await api.get(f"{key}/999999")).status == 404


async def test_work_samples_come_as_an_include_only(fake: FakeKantata, api: Api) -> None:
    # Kantata documents no route for them.
    assert (await api.get("work_samples")).status == 404
    owner = next(u for u in users_of(fake).values() if u["work_sample_ids"])
    body = await api.ok("users", only=owner["id"], include="work_samples", show_disabled="true")
    assert set(body["work_samples"]) == set(owner["work_sample_ids"])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "users/99999"),
        ("GET", "users/abc"),
        ("GET", ""),
        ("POST", "users"),
        ("DELETE", "users/3"),
        ("GET", "users/3/nothing"),
        ("PUT", "users/me"),
    ],
)
async def test_unknown_routes_and_records_are_404_system_errors(
    api: Api, method: str, path: str
) -> None:
    reply = await api.call(method, path)
    assert reply.status == 404
    assert reply.headers["Content-Type"].startswith("application/json")
    [error] = errors(reply)
    assert error["type"] == "system" and error["message"]


async def test_a_path_outside_the_api_is_a_json_404(fake: FakeKantata, api: Api) -> None:
    async with api.session.get(fake.base_url.replace("/api/v1/", "/favicon.ico")) as resp:
        assert resp.status == 404
        assert (await resp.json())["errors"][0]["type"] == "system"
    assert fake.requests[-1].path == "/favicon.ico"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}, {"Authorization": ""}],
)
async def test_a_missing_or_wrong_token_is_a_401_oauth_error(
    api: Api, headers: dict[str, str]
) -> None:
    reply = await api.call("GET", "users", headers=headers, auth=False)
    assert reply.status == 401
    assert reply.json() == {"errors": [{"type": "oauth", "message": "Invalid OAuth 2 Request"}]}


async def test_the_token_is_deterministic_or_given(fake: FakeKantata) -> None:
    assert fake.token == FakeKantata(users=0, seed=3).token
    assert fake.token != FakeKantata(users=0, seed=4).token
    async with (
        FakeKantata(users=5, token="s3cret") as other,
        aiohttp.ClientSession() as session,
    ):
        assert other.token == "s3cret"
        api = Api(other, session)
        lower = await api.call("GET", "users", headers={"Authorization": "bearer s3cret"})
        assert lower.status == 200
