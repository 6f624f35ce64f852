"""FakeKantata answers like the real API: plain aiohttp requests against a real local server."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from conftest import my_memberships, visible
from multidict import CIMultiDictProxy

from kantata_async.testing import Dataset, FakeKantata, RecordedRequest, UploadedFile
from kantata_async.testing.__main__ import main as cli_main

SUNDAY = date(2025, 3, 2)
PHOTO = "user[profile_photo_attachment_file]"


@dataclass
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Api:
    """Requests against one fake, with its token unless told otherwise."""

    def __init__(self, fake: FakeKantata, session: aiohttp.ClientSession) -> None:
        self.fake = fake
        self.session = session

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> Reply:
        sent = dict(headers or {})
        if auth:
            sent.setdefault("Authorization", f"Bearer {self.fake.token}")
        async with self.session.request(
            method,
            self.fake.base_url + path,
            params=params,
            json=json,
            data=data,
            headers=sent,
        ) as resp:
            return Reply(resp.status, resp.headers, await resp.read())

    async def get(self, path: str, **params: str) -> Reply:
        return await self.call("GET", path, params=params)

    async def ok(self, path: str, **params: str) -> Any:
        reply = await self.get(path, **params)
        assert reply.status == 200, reply.body
        return reply.json()


@pytest.fixture
async def fake() -> AsyncIterator[FakeKantata]:
    async with FakeKantata(users=60, seed=3) as server:
        yield server


@pytest.fixture
async def api(fake: FakeKantata) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(fake, session)


def users_of(fake: FakeKantata) -> dict[str, dict[str, Any]]:
    return fake.dataset.records["users"]


def alphabetical(
    fake: FakeKantata, *, disabled: bool = False, on_my_account: bool = False
) -> list[str]:
    """The ids `GET /users` lists by default (or with these filters), in its order."""
    ids = visible(fake, show_disabled=disabled, on_my_account=on_my_account)
    users = [users_of(fake)[i] for i in ids]
    users.sort(key=lambda u: (u["full_name"].casefold(), int(u["id"])))
    return [u["id"] for u in users]


def result_ids(body: Mapping[str, Any]) -> list[str]:
    return [r["id"] for r in body["results"]]


def errors(reply: Reply) -> list[dict[str, str]]:
    body = reply.json()
    assert set(body) == {"errors"}
    return list(body["errors"])


def fields(reply: Reply) -> list[str]:
    return [e["field"] for e in errors(reply) if e["type"] == "validation"]


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


# -- knobs: scripted faults -----------------------------------------------------------------


async def test_fail_next_429_with_retry_after_then_serves_again(
    fake: FakeKantata, api: Api
) -> None:
    fake.fail_next(429, times=2, retry_after=3)
    for _ in range(2):
        reply = await api.get("users")
        assert reply.status == 429 and reply.headers["Retry-After"] == "3"
        assert errors(reply)[0]["type"] == "system"
    assert (await api.get("users")).status == 200
    assert [r.status for r in fake.requests] == [429, 429, 200]
    assert fake.pending_faults == 0


async def test_fail_next_retry_after_as_an_http_date(fake: FakeKantata, api: Api) -> None:
    fake.fail_next(429, retry_after="Wed, 21 Oct 2026 07:28:00 GMT")
    reply = await api.get("users")
    assert reply.headers["Retry-After"] == "Wed, 21 Oct 2026 07:28:00 GMT"
    fake.fail_next(429)
    assert "Retry-After" not in (await api.get("users")).headers


async def test_fail_next_matches_path_prefixes_and_methods(fake: FakeKantata, api: Api) -> None:
    fake.fail_next(503, path="/api/v1/users.json", method="get")
    assert (await api.get("workweek_memberships")).status == 200
    assert (await api.get("users_x")).status == 404  # not under users/
    reply = await api.get("users/3/capacity", start_date="2025-03-02", end_date="2025-03-02")
    assert reply.status == 503
    assert reply.json() == {"errors": [{"type": "system", "message": "Service is unavailable"}]}
    fake.fail_next(500, method="PUT")
    assert (await api.get("users")).status == 200
    assert fake.pending_faults == 1
    fake.clear_faults()
    assert fake.pending_faults == 0


async def test_scripted_faults_queue_in_call_order(fake: FakeKantata, api: Api) -> None:
    fake.fail_next(503)
    fake.malformed_next("html")
    fake.fail_next(429)
    statuses = [(await api.get("roles")).status for _ in range(4)]
    assert statuses == [503, 200, 429, 200]


async def test_502_is_an_html_page_and_custom_bodies_are_sent_as_given(
    fake: FakeKantata, api: Api
) -> None:
    fake.fail_next(502)
    gateway = await api.get("users")
    assert gateway.status == 502
    assert gateway.headers["Content-Type"].startswith("text/html")
    assert b"502 Bad Gateway" in gateway.body
    fake.fail_next(400, body={"error_message": "nope"})
    custom = await api.get("users")
    assert (custom.status, custom.json()) == (400, {"error_message": "nope"})
    fake.fail_next(418, body="short and stout", content_type="text/x-teapot")
    teapot = await api.get("users")
    assert (teapot.status, teapot.body) == (418, b"short and stout")
    assert teapot.headers["Content-Type"] == "text/x-teapot"
    fake.fail_next(401)
    assert errors(await api.get("users"))[0]["type"] == "oauth"


async def test_a_failed_write_changes_nothing(fake: FakeKantata, api: Api) -> None:
    fake.fail_next(503, path="users")
    reply = await api.call("PUT", "users/3", json={"user": {"full_name": "Never"}})
    assert reply.status == 503
    assert users_of(fake)["3"]["full_name"] != "Never"
    assert fake.requests[-1].json == {"user": {"full_name": "Never"}}


async def test_fault_knobs_reject_nonsense(fake: FakeKantata) -> None:
    with pytest.raises(ValueError, match="status"):
        fake.fail_next(99)
    with pytest.raises(ValueError, match="times"):
        fake.drop_next(times=0)
    with pytest.raises(ValueError, match="kind"):
        fake.malformed_next("xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rates"):
        fake.random_faults(rate_429=0.7, rate_503=0.7)
    with pytest.raises(ValueError, match="latency"):
        fake.latency = -1


async def test_drop_next_closes_the_connection_without_an_answer(
    fake: FakeKantata, api: Api
) -> None:
    # aiohttp itself retries an idempotent request once after a disconnect: drop both tries.
    fake.drop_next(times=2, path="users")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.get("users")
    assert (await api.get("users")).status == 200
    statuses = [(r.path, r.status) for r in fake.requests]
    assert statuses == [("users", None), ("users", None), ("users", 200)]
    fake.drop_next()
    assert (await api.get("roles")).status == 200  # the silent retry
    assert [r.status for r in fake.requests[-2:]] == [None, 200]


async def test_drop_next_after_a_post_body_was_read(fake: FakeKantata, api: Api) -> None:
    fake.drop_next(path="workweek_memberships", after_request=True)
    count = len(fake.dataset.records["workweek_memberships"])
    body = {"workweek_membership": {"user_id": 3, "start_date": "2027-01-03"}}
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.call("POST", "workweek_memberships", json=body)
    [request] = fake.requests
    assert (request.method, request.json, request.status) == ("POST", body, None)
    assert len(fake.dataset.records["workweek_memberships"]) == count


async def test_drop_next_before_the_body_was_read(fake: FakeKantata, api: Api) -> None:
    fake.drop_next(times=2, after_request=False)
    with pytest.raises(aiohttp.ClientConnectionError):
        await api.call("PUT", "users/3", json={"user": {"full_name": "Never"}})
    assert [(r.body, r.json, r.status) for r in fake.requests] == [(b"", None, None)] * 2
    assert users_of(fake)["3"]["full_name"] != "Never"


async def test_malformed_json_is_a_200_that_does_not_parse(fake: FakeKantata, api: Api) -> None:
    fake.malformed_next("json", path="users")
    reply = await api.get("users")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):
        reply.json()


async def test_malformed_truncated_cuts_the_real_body_with_a_matching_length(
    fake: FakeKantata, api: Api
) -> None:
    whole = (await api.get("users", per_page="5")).body
    fake.malformed_next("truncated")
    reply = await api.get("users", per_page="5")
    assert reply.status == 200
    assert int(reply.headers["Content-Length"]) == len(reply.body) == len(whole) // 2
    assert whole.startswith(reply.body)
    with pytest.raises(ValueError):
        reply.json()


async def test_malformed_html_is_a_200_web_page(fake: FakeKantata, api: Api) -> None:
    fake.malformed_next("html", times=2)
    for _ in range(2):
        reply = await api.get("users")
        assert reply.status == 200
        assert reply.headers["Content-Type"].startswith("text/html")
        assert reply.body.lstrip().startswith(b"<!DOCTYPE html>")
    assert (await api.get("users")).headers["Content-Type"].startswith("application/json")


async def test_malformed_writes_are_still_applied(fake: FakeKantata, api: Api) -> None:
    fake.malformed_next("json", method="PUT")
    reply = await api.call("PUT", "users/3", json={"user": {"full_name": "Applied Anyway"}})
    assert reply.status == 200
    assert users_of(fake)["3"]["full_name"] == "Applied Anyway"


# -- knobs: random faults, count, latency, hooks ------------------------------------------


async def random_statuses(seed: int, requests: int) -> list[int | None]:
    async with (
        FakeKantata(users=5, seed=1) as fake,
        aiohttp.ClientSession() as session,
    ):
        api = Api(fake, session)
        fake.random_faults(rate_429=0.3, rate_503=0.2, rate_drop=0.1, retry_after=1, seed=seed)
        for _ in range(requests):
            try:
                reply = await api.get("roles")
            except aiohttp.ServerDisconnectedError:
                continue
            if reply.status != 200:
                assert reply.headers["Retry-After"] == "1"
        return [r.status for r in fake.requests]


async def test_random_faults_are_seeded_and_can_be_turned_off(fake: FakeKantata, api: Api) -> None:
    first = await random_statuses(seed=11, requests=40)
    assert first == await random_statuses(seed=11, requests=40)
    assert first != await random_statuses(seed=12, requests=40)
    assert {200, 429, 503, None} == set(first)
    fake.random_faults(rate_429=1.0)
    assert (await api.get("roles")).status == 429
    fake.random_faults()
    assert all([(await api.get("roles")).status == 200 for _ in range(5)])


async def test_count_offset_makes_the_reported_count_lie(fake: FakeKantata, api: Api) -> None:
    fake.count_offset = 5
    body = await api.ok("users", per_page="20")
    lying = len(alphabetical(fake)) + 5
    assert body["count"] == lying and len(body["results"]) == 20
    assert body["meta"] == {
        "count": lying,
        "page_count": math.ceil(lying / 20),
        "page_number": 1,
        "page_size": 20,
    }
    fake.count_offset = -100
    body = await api.ok("users")
    assert body["meta"]["count"] == 0 and body["meta"]["page_number"] == 0
    assert len(body["results"]) == 20  # the records are still there
    assert (await api.ok("users/3"))["count"] == 1  # show routes do not lie


async def test_latency_still_serves(fake: FakeKantata, api: Api) -> None:
    fake.latency = 0.01
    assert fake.latency == 0.01
    replies = await asyncio.gather(*(api.get("users", page=str(p)) for p in range(1, 4)))
    assert [r.status for r in replies] == [200, 200, 200]
    async with FakeKantata(users=3, latency=0.005) as slow:
        assert slow.latency == 0.005


async def test_on_request_can_insert_records_during_a_walk(fake: FakeKantata, api: Api) -> None:
    def insert_before_page_two(request: RecordedRequest) -> None:
        if request.query.get("page") == "2":
            fake.dataset.add_user("Aaa First")

    fake.on_request = insert_before_page_two
    page1 = await api.ok("users", page="1")
    page2 = await api.ok("users", page="2")
    assert page2["count"] == page1["count"] + 1
    assert result_ids(page2)[0] == result_ids(page1)[-1]  # everything shifted by one

    async def delete_async(request: RecordedRequest) -> None:
        await asyncio.sleep(0)
        if request.path == "users/5":
            fake.dataset.delete("users", "5")

    fake.on_request = delete_async
    assert (await api.get("users/5")).status == 404


# -- recording ------------------------------------------------------------------------------


async def test_requests_are_recorded_in_order_with_their_details(
    fake: FakeKantata, api: Api
) -> None:
    await api.call(
        "GET",
        "users.json",
        params=[("page", "1"), ("page", "2"), ("include", "role")],  # type: ignore[arg-type]
        headers={"X-Trace": "abc"},
    )
    await api.call("PUT", "users/3", json={"user": {"headline": "Hi"}})
    await api.call("GET", "users", auth=False)
    first, second, third = fake.requests
    assert (first.method, first.path) == ("GET", "users")
    assert first.query == {"page": "2", "include": "role"}
    assert first.query_string == "page=1&page=2&include=role"
    assert first.headers["x-trace"] == "abc" and first.header("X-TRACE") == "abc"
    assert first.header("authorization") == f"Bearer {fake.token}"
    assert (first.body, first.json, first.form, first.status) == (b"", None, None, 200)
    assert (second.method, second.path, second.status) == ("PUT", "users/3", 200)
    assert second.json == {"user": {"headline": "Hi"}}
    assert json.loads(second.body) == second.json
    assert third.status == 401 and third.header("authorization") is None
    assert fake.token not in repr(first)
    assert first.received_at <= second.received_at <= third.received_at
    fake.requests.clear()
    await api.get("roles")
    assert [r.path for r in fake.requests] == ["roles"]


# -- lifecycle ------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.com", "::"])
def test_only_loopback_hosts_are_accepted(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        FakeKantata(users=0, host=host)


async def test_lifecycle_and_base_url() -> None:
    fake = FakeKantata(users=2, host="localhost")
    with pytest.raises(RuntimeError, match="not running"):
        _ = fake.base_url
    await fake.start()
    try:
        assert fake.base_url == f"http://127.0.0.1:{fake.port}/api/v1/"
        with pytest.raises(RuntimeError, match="already running"):
            await fake.start()
    finally:
        await fake.close()
    await fake.close()
    with pytest.raises(RuntimeError):
        _ = fake.port


async def test_ipv6_loopback_url_has_brackets() -> None:
    try:
        fake = FakeKantata(users=1, host="::1")
        await fake.start()
    except OSError:  # no IPv6 on this machine: nothing to check
        return
    try:
        assert fake.base_url.startswith("http://[::1]:")
    finally:
        await fake.close()


async def test_same_seed_same_bytes() -> None:
    bodies = []
    for _ in range(2):
        async with FakeKantata(users=30, seed=9) as fake, aiohttp.ClientSession() as session:
            reply = await Api(fake, session).get("users", include="skills,role", per_page="30")
            bodies.append(reply.body)
    assert bodies[0] == bodies[1]


async def test_a_shared_dataset_can_back_a_server() -> None:
    data = Dataset(users=8, seed=2)
    async with FakeKantata(dataset=data) as fake, aiohttp.ClientSession() as session:
        assert fake.dataset is data
        assert (await Api(fake, session).ok("users"))["count"] == len(data.records["users"])


# -- the dataset's additions ----------------------------------------------------------------


def test_dataset_mutation_helpers_bump_the_revision_and_stamps() -> None:
    data = Dataset(users=30, seed=1)
    revision = data.revision
    user = data.add_user("Zoe New", email_address="zoe@example.com")
    assert data.revision > revision
    assert user["account_membership_id"] in data.records["account_memberships"]
    first, second = data.stamp(), data.stamp()
    assert first < second
    assert all(first > u["updated_at"] for u in data.records["users"].values() if u is not user)
    updated = data.update("users", user["id"], headline="New")
    assert updated["headline"] == "New" and updated["updated_at"] > second
    data.delete("users", user["id"])
    assert data.get("users", user["id"]) is None
    with pytest.raises(KeyError):
        data.delete("users", user["id"])
    with pytest.raises(KeyError):
        data.update("users", "nope", headline="x")
    before = data.revision
    data.changed()
    assert data.revision == before + 1

    def fixed() -> datetime:
        return datetime(2026, 5, 1, 12, tzinfo=UTC)

    assert (
        Dataset(users=30, seed=1, clock=fixed).stamp()
        == Dataset(users=30, seed=1, clock=fixed).stamp()
    )


def test_dataset_envelopes_copy_lists_unless_told_not_to() -> None:
    data = Dataset(users=5, seed=1)
    body = data.envelope("users", ["2"], include=["skills"])
    body["users"]["2"]["skill_ids"].append("999")
    assert "999" not in data.records["users"]["2"]["skill_ids"]
    shared = data.envelope("users", ["2"], include=["skills"], copy_lists=False)
    assert shared["users"]["2"]["skill_ids"] is data.records["users"]["2"]["skill_ids"]
    assert shared == data.envelope("users", ["2"], include=["skills"])


def test_dataset_memberships_form_a_timeline() -> None:
    data = Dataset(users=80, seed=5)
    for uid in data.records["users"]:
        mine = data.workweek_memberships_of(uid)
        assert mine and mine[-1]["end_date"] is None
        for earlier, later in itertools.pairwise(mine):
            end = date.fromisoformat(earlier["end_date"])
            assert end + timedelta(days=1) == date.fromisoformat(later["start_date"])


# -- the command line -----------------------------------------------------------------------


def test_cli_refuses_a_non_loopback_host(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["--host", "0.0.0.0", "--users", "1"]) == 2
    assert "loopback" in capsys.readouterr().err


async def test_cli_serves_until_sigterm() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kantata_async.testing",
        "--users",
        "5",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        url_line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
        token_line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
        base_url = url_line.removeprefix("KANTATA_BASE_URL=")
        token = token_line.removeprefix("KANTATA_TOKEN=")
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/api/v1/")
        assert token == FakeKantata(users=0, seed=0).token
        async with (
            aiohttp.ClientSession() as session,
            session.get(base_url + "users", headers={"Authorization": f"Bearer {token}"}) as r,
        ):
            assert (await r.json())["count"] == 5
    finally:
        if proc.returncode is None:
            proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err
