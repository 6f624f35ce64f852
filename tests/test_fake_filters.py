"""Every documented filter of the seed endpoints is applied as the docs say, or refused.

The filters are read from the facts that ship with the package (`GET /users` and
`GET /workweek_memberships`, operation `query`). Each one has either an oracle here, an
independent statement in terms of the dataset's records of what the filter means, and the
fake must answer exactly that (and it must differ from the unfiltered list), or a reason
for being refused, and the fake must answer 501 naming it. A filter the facts document and
this table does not know fails `test_the_table_covers_every_documented_filter`: zero
silently ignored.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import aiohttp
import pytest
from conftest import my_memberships, visible

from kantata_async.testing import Dataset, FakeKantata

Records = dict[str, dict[str, dict[str, Any]]]


def documented(tag: str, path: str) -> list[str]:
    """The filters the facts document for `GET path`."""
    text = resources.files("kantata_async.testing").joinpath("facts", f"{tag}.json").read_text()
    [listing] = [
        o for o in json.loads(text)["operations"] if (o["method"], o["path"]) == ("GET", path)
    ]
    return sorted(listing["query"])


USERS = documented("users", "/users")
MEMBERSHIPS = documented("workweek-memberships", "/workweek_memberships")
REFUSED = {
    ("users", "matching"): "documented without a description",
    ("users", "with_organizations"): "documented by the API description only",
}


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset(users=150, seed=21)


@pytest.fixture
async def fake(dataset: Dataset) -> AsyncIterator[FakeKantata]:
    async with FakeKantata(dataset=dataset) as server:
        yield server


async def list_ids(fake: FakeKantata, key: str, params: dict[str, str]) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {fake.token}"}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.get(fake.base_url + key, params={"per_page": "200", **params}) as resp,
    ):
        body = await resp.json()
    if resp.status != 200:
        return resp.status, body
    assert body["count"] == len(body["results"]) <= 200
    return 200, {r["id"] for r in body["results"]}


# -- what the oracles read ------------------------------------------------------------------


@dataclass
class World:
    """The dataset seen from the requester, for the oracles."""

    fake: FakeKantata

    @property
    def records(self) -> Records:
        return self.fake.dataset.records

    @property
    def users(self) -> dict[str, dict[str, Any]]:
        return self.records["users"]

    @property
    def me(self) -> dict[str, Any]:
        return self.users[self.fake.me]

    def base(self) -> set[str]:
        return visible(self.fake)

    def where(
        self, test: Callable[[dict[str, Any]], bool], among: set[str] | None = None
    ) -> set[str]:
        ids = self.base() if among is None else among
        return {i for i in ids if test(self.users[i])}

    def membership(self, user: dict[str, Any]) -> dict[str, Any]:
        return self.records["account_memberships"][user["account_membership_id"]]

    def participations(self, **match: str) -> list[dict[str, Any]]:
        return [
            p
            for p in self.records["participations"].values()
            if all(p[k] == v for k, v in match.items())
        ]

    def people(
        self, workspace: str, test: Callable[[dict[str, Any]], bool] = lambda p: True
    ) -> set[str]:
        return {p["user_id"] for p in self.participations(workspace_id=workspace) if test(p)}

    def busiest_workspace(self, account: str = "1") -> str:
        """The project of `account` with the most people: filters on it narrow visibly."""
        workspaces = [
            w for w, ws in self.records["workspaces"].items() if ws["account_id"] == account
        ]
        return max(workspaces, key=lambda w: (len(self.people(w)), -int(w)))

    def references(self, user: dict[str, Any]) -> list[dict[str, Any]]:
        return [self.records["external_references"][r] for r in user["external_reference_ids"]]

    def values(self, user: dict[str, Any]) -> dict[str, dict[str, Any]]:
        found = (self.records["custom_field_values"][v] for v in user["custom_field_value_ids"])
        return {cfv["custom_field_id"]: cfv for cfv in found}

    def field(self, name: str) -> str:
        return next(f for f, cf in self.records["custom_fields"].items() if cf["name"] == name)

    def org(self, name: str) -> str:
        return next(o for o, org in self.records["organizations"].items() if org["name"] == name)

    def median(self, stamps: list[str]) -> str:
        return sorted(stamps)[len(stamps) // 2]

    def chain_below(self, user_id: str) -> set[str]:
        below, todo = set(), [user_id]
        while todo:
            boss = todo.pop()
            for u in self.users.values():
                if u["manager_id"] == boss and u["id"] not in below:
                    below.add(u["id"])
                    todo.append(u["id"])
        return below


# (params, expected ids) for one filter, from the world.
Probe = Callable[[World], tuple[dict[str, str], set[str]]]


def _custom(kind: str) -> Probe:
    def probe(w: World) -> tuple[dict[str, str], set[str]]:
        if kind == "choice":
            f = w.field("Region")
            north = w.records["custom_fields"][f]["choice_ids"][0]
            return {"by_custom_choice_value": f"{f}:{north}"}, w.where(
                lambda u: north in (w.values(u).get(f) or {}).get("selected_choice_ids", [])
            )
        if kind == "currency":
            f = w.field("Day rate")
            some = next(w.values(u)[f] for u in w.users.values() if f in w.values(u))
            amount, code = some["value"], some["currency"]
            return {"by_custom_currency_value": f"({f}:{amount}:{code})"}, w.where(
                lambda u: (
                    (cfv := w.values(u).get(f)) is not None
                    and cfv["value"] == amount
                    and cfv["currency"] == code
                )
            )
        if kind == "date":
            f = w.field("Start date")
            days = sorted(w.values(u)[f]["value"] for u in w.users.values() if f in w.values(u))
            start, end = days[len(days) // 4], days[len(days) // 2]
            return {"by_custom_date_value": f"({f}:{start}:{end})"}, w.where(
                lambda u: f in w.values(u) and start <= w.values(u)[f]["value"] <= end
            )
        if kind == "number":
            f = w.field("Level")
            return {"by_custom_number_value": f"{f}:3"}, w.where(
                lambda u: (w.values(u).get(f) or {}).get("value") == 3
            )
        f = w.field("Cost center")
        return {"by_custom_text_value": f"({f}:cc-10)"}, w.where(
            lambda u: "cc-10" in str((w.values(u).get(f) or {}).get("value", "")).lower()
        )

    return probe


def _reference(filter_name: str, value: str, test: Callable[[dict[str, Any]], bool]) -> Probe:
    return lambda w: (
        {filter_name: value},
        w.where(lambda u: any(test(r) for r in w.references(u))),
    )


def _possible_managers(w: World) -> set[str]:
    below = w.chain_below(w.fake.me) | {w.fake.me}
    return {
        i
        for i, u in w.users.items()
        if u["account_id"] == w.me["account_id"]
        and not u["disabled"]
        and i not in below
        and w.membership(u)["permission"] in ("project_lead", "administrator")
    }


def _possible_managees(w: World) -> set[str]:
    return {
        i
        for i, u in w.users.items()
        if u["account_id"] == w.me["account_id"]
        and not u["disabled"]
        and i != w.fake.me
        and u["manager_id"] is None
    }


def _skills(w: World) -> tuple[dict[str, str], set[str]]:
    held = [sm for sm in w.records["skill_memberships"].values() if sm["user_id"] in w.base()]
    skill = max(
        {sm["skill_id"] for sm in held}, key=lambda s: sum(sm["skill_id"] == s for sm in held)
    )

    def good(u: dict[str, Any]) -> bool:
        mine = [w.records["skill_memberships"][i] for i in u["skill_membership_ids"]]
        return any(sm["skill_id"] == skill and sm["level"] >= 3 for sm in mine)

    return {"with_skills": f"{{'{skill}':[3,4,5],'operation':'and'}}"}, w.where(good)


def _timesheets(w: World) -> tuple[dict[str, str], set[str]]:
    submission = next(iter(w.records["timesheet_submissions"].values()))
    ws, start, end = submission["workspace_id"], submission["start_date"], submission["end_date"]
    done = {
        s["user_id"]
        for s in w.records["timesheet_submissions"].values()
        if s["workspace_id"] == ws and s["start_date"] <= end and s["end_date"] >= start
    }
    return {"without_timesheet_submission": f"{ws}:{start}:{end}"}, w.base() - done


def _shared_workspace(w: World) -> str:
    """A project of my account with the most people of the other account."""
    mine = [x for x, ws in w.records["workspaces"].items() if ws["account_id"] == "1"]
    return max(mine, key=lambda x: (sum(w.users[u]["account_id"] == "2" for u in w.people(x)), x))


def _story(w: World) -> dict[str, Any]:
    return max(
        w.records["stories"].values(),
        key=lambda s: (len(s["assignee_ids"]), len(s["follower_ids"])),
    )


USER_PROBES: dict[str, Probe] = {
    "account_id": lambda w: ({"account_id": "2"}, w.where(lambda u: u["account_id"] == "2")),
    "account_role_ids": lambda w: (
        (roles := sorted({w.users[i]["role_id"] for i in w.base()}, key=int)[:2])
        and {"account_role_ids": ",".join(roles)},
        w.where(lambda u: u["role_id"] in roles),
    ),
    "all_contacts": lambda w: (
        {"all_contacts": "true"},
        {i for i in w.me["contact_ids"] if not w.users[i]["disabled"]},
    ),
    "assignable_to_resource": lambda w: (
        (
            resource := next(
                r for r in w.records["workspace_resources"].values() if w.people(r["workspace_id"])
            )
        )
        and {"assignable_to_resource": resource["id"]},
        w.base() & w.people(resource["workspace_id"], lambda p: p["role"] == "maven"),
    ),
    "belonging_to_orgs": lambda w: (
        {"belonging_to_orgs": f"{w.org('EMEA')};{w.org('Engineering')},{w.org('Design')}"},
        w.where(
            lambda u: any(
                m["member_id"] == u["id"]
                and w.org("EMEA")
                in {
                    m["geography_id"],
                    *w.records["organizations"][m["geography_id"]]["ancestor_ids"],
                }
                and m["department_id"] in (w.org("Engineering"), w.org("Design"))
                for m in w.records["organization_memberships"].values()
            )
        ),
    ),
    "by_custom_choice_value": _custom("choice"),
    "by_custom_currency_value": _custom("currency"),
    "by_custom_date_value": _custom("date"),
    "by_custom_number_value": _custom("number"),
    "by_custom_text_value": _custom("text"),
    "by_email_address": lambda w: (
        {"by_email_address": w.users[min(w.base(), key=int)]["email_address"]},
        {min(w.base(), key=int)},
    ),
    "by_email_addresses": lambda w: (
        {
            "by_email_addresses": ",".join(
                w.users[i]["email_address"] for i in sorted(w.base(), key=int)[:3]
            )
        },
        set(sorted(w.base(), key=int)[:3]),
    ),
    "by_full_name": lambda w: (
        {"by_full_name": "SILVA"},
        w.where(lambda u: "silva" in u["full_name"].lower()),
    ),
    "by_full_name_or_account_role": lambda w: (
        {"by_full_name_or_account_role": "design"},
        w.where(
            lambda u: (
                "design" in u["full_name"].lower()
                or "design" in w.records["roles"][u["role_id"]]["name"].lower()
            )
        ),
    ),
    "can_be_approver_in_workspace": lambda w: (
        {"can_be_approver_in_workspace": w.busiest_workspace()},
        w.base()
        & w.people(
            w.busiest_workspace(),
            lambda p: p["role"] == "maven" and p["access_level"] == "financial",
        ),
    ),
    "can_view_reports": lambda w: (
        {"can_view_reports": "true"},
        w.where(lambda u: w.membership(u)["can_view_reports"]),
    ),
    "clients_only": lambda w: (
        {"clients_only": "true"},
        w.base() & {p["user_id"] for p in w.participations(role="buyer")},
    ),
    "consultants_only": lambda w: (
        {"consultants_only": "true"},
        w.base() & {p["user_id"] for p in w.participations(role="maven")},
    ),
    "contacts_on_different_account": lambda w: (
        {"contacts_on_different_account": "true"},
        {i for i in w.me["contact_ids"] if w.users[i]["account_id"] != w.me["account_id"]},
    ),
    "created_after": lambda w: (
        {"created_after": (cut := w.median([w.users[i]["created_at"] for i in w.base()]))},
        w.where(lambda u: u["created_at"] > cut),
    ),
    "created_before": lambda w: (
        {"created_before": (cut := w.median([w.users[i]["created_at"] for i in w.base()]))},
        w.where(lambda u: u["created_at"] < cut),
    ),
    "external_reference_external_message": _reference(
        "external_reference_external_message",
        "Duplicate contact",
        lambda r: r["external_message"] == "Duplicate contact",
    ),
    "external_reference_external_status": _reference(
        "external_reference_external_status",
        "inactive",
        lambda r: r["external_status"] == "inactive",
    ),
    "external_reference_service_model": _reference(
        "external_reference_service_model", "Contact", lambda r: r["service_model"] == "Contact"
    ),
    "external_reference_service_model_ref": lambda w: (
        (ref := next(r for i in sorted(w.base(), key=int) for r in w.references(w.users[i])))
        and {"external_reference_service_model_ref": ref["service_model_ref"]},
        {str(ref["subject_id"])},
    ),
    "external_reference_service_model_refs": lambda w: (
        (refs := [r for i in sorted(w.base(), key=int)[:4] for r in w.references(w.users[i])][:3])
        and {
            "external_reference_service_model_refs": ",".join(r["service_model_ref"] for r in refs)
        },
        {str(r["subject_id"]) for r in refs},
    ),
    "external_reference_service_name": _reference(
        "external_reference_service_name", "crm", lambda r: r["service_name"] == "crm"
    ),
    "external_reference_status": _reference(
        "external_reference_status", "failed", lambda r: r["status"] == "failed"
    ),
    "has_external_references": lambda w: (
        {"has_external_references": "false"},
        w.where(lambda u: not u["external_reference_ids"]),
    ),
    "has_value_for_custom_field_ids": lambda w: (
        {"has_value_for_custom_field_ids": w.field("Languages")},
        w.where(lambda u: w.field("Languages") in w.values(u)),
    ),
    "is_project_lead": lambda w: (
        {"is_project_lead": "true"},
        w.where(lambda u: w.membership(u)["is_project_lead"]),
    ),
    "managers": lambda w: (
        {"managers": "true"},
        w.where(lambda u: any(v["manager_id"] == u["id"] for v in w.users.values())),
    ),
    "not_assigned_to": lambda w: (
        {"not_assigned_to": _story(w)["id"]},
        w.base() - set(_story(w)["assignee_ids"]),
    ),
    "not_following": lambda w: (
        {"not_following": _story(w)["id"]},
        w.base() - set(_story(w)["follower_ids"]),
    ),
    "not_on_calendars": lambda w: (
        {"not_on_calendars": "1,3"},
        w.base()
        - {
            m["user_id"]
            for m in w.records["holiday_calendar_memberships"].values()
            if m["holiday_calendar_id"] in ("1", "3")
        },
    ),
    "not_participant_in": lambda w: (
        {"not_participant_in": w.busiest_workspace()},
        w.base() - w.people(w.busiest_workspace()),
    ),
    "on_my_account": lambda w: ({"on_my_account": "true"}, visible(w.fake, on_my_account=True)),
    "on_my_account_or_participant_in_workspace": lambda w: (
        {"on_my_account_or_participant_in_workspace": (ws := _shared_workspace(w))},
        {
            i
            for i in visible(w.fake, on_my_account=True) | w.people(ws)
            if not w.users[i]["disabled"]
        },
    ),
    "only_possible_managees": lambda w: (
        {"only_possible_managees": "true"},
        w.base() & _possible_managees(w),
    ),
    "only_possible_managers": lambda w: (
        {"only_possible_managers": "true"},
        w.base() & _possible_managers(w),
    ),
    "participant_in": lambda w: (
        {"participant_in": w.busiest_workspace()},
        w.base() & w.people(w.busiest_workspace()),
    ),
    "potential_followers_for_story": lambda w: (
        {"potential_followers_for_story": _story(w)["id"]},
        w.base() & (w.people(_story(w)["workspace_id"]) - set(_story(w)["follower_ids"])),
    ),
    "provider_leads_on_account_projects": lambda w: (
        {"provider_leads_on_account_projects": "true"},
        w.base()
        & {
            p["user_id"]
            for p in w.participations(role="maven")
            if p["is_team_lead"] and w.records["workspaces"][p["workspace_id"]]["account_id"] == "1"
        },
    ),
    "search": lambda w: (
        {"search": "OKAFOR"},
        w.where(lambda u: "okafor" in u["full_name"].lower() or "okafor" in u["email_address"]),
    ),
    "show_disabled": lambda w: ({"show_disabled": "true"}, visible(w.fake, show_disabled=True)),
    "show_users_in_insights_groups": lambda w: (
        {"show_users_in_insights_groups": "true"},
        w.base() & {m["user_id"] for m in w.records["insights_access_group_memberships"].values()},
    ),
    "updated_after": lambda w: (
        {"updated_after": (cut := w.median([w.users[i]["updated_at"] for i in w.base()]))},
        w.where(lambda u: u["updated_at"] > cut),
    ),
    "updated_before": lambda w: (
        {"updated_before": (cut := w.median([w.users[i]["updated_at"] for i in w.base()]))},
        w.where(lambda u: u["updated_at"] < cut),
    ),
    "with_created_estimates": lambda w: (
        {"with_created_estimates": "true"},
        w.base() & {e["creator_id"] for e in w.records["estimates"].values()},
    ),
    "with_skills": _skills,
    "with_users": lambda w: (
        {"with_users": ",".join(sorted(w.base(), key=int)[:3])},
        set(sorted(w.base(), key=int)[:3]),
    ),
    "without_skills": lambda w: (
        {"without_skills": "1,2"},
        w.where(lambda u: not {"1", "2"} & set(u["skill_ids"])),
    ),
    "without_timesheet_submission": _timesheets,
    "without_users": lambda w: (
        {"without_users": ",".join(sorted(w.base(), key=int)[:3])},
        w.base() - set(sorted(w.base(), key=int)[:3]),
    ),
    "write_access_in": lambda w: (
        {"write_access_in": w.busiest_workspace()},
        w.base() & w.people(w.busiest_workspace(), lambda p: not p["show_as_read_only"]),
    ),
    "without_external_reference_service_name": lambda w: (
        {"without_external_reference_service_name": "crm"},
        w.where(lambda u: all(r["service_name"] != "crm" for r in w.references(u))),
    ),
}


def _wm(w: World, test: Callable[[dict[str, Any]], bool]) -> set[str]:
    return {i for i, wm in my_memberships(w.fake).items() if test(wm)}


MEMBERSHIP_PROBES: dict[str, Probe] = {
    "created_after": lambda w: (
        {
            "created_after": (
                cut := w.median([wm["created_at"] for wm in my_memberships(w.fake).values()])
            )
        },
        _wm(w, lambda wm: wm["created_at"] > cut),
    ),
    "created_before": lambda w: (
        {
            "created_before": (
                cut := w.median([wm["created_at"] for wm in my_memberships(w.fake).values()])
            )
        },
        _wm(w, lambda wm: wm["created_at"] < cut),
    ),
    "updated_after": lambda w: (
        {
            "updated_after": (
                cut := w.median([wm["updated_at"] for wm in my_memberships(w.fake).values()])
            )
        },
        _wm(w, lambda wm: wm["updated_at"] > cut),
    ),
    "updated_before": lambda w: (
        {
            "updated_before": (
                cut := w.median([wm["updated_at"] for wm in my_memberships(w.fake).values()])
            )
        },
        _wm(w, lambda wm: wm["updated_at"] < cut),
    ),
    "effective_date": lambda w: (
        {"effective_date": (day := w.fake.dataset.today().isoformat())},
        _wm(
            w,
            lambda wm: (
                wm["start_date"] <= day and (wm["end_date"] is None or wm["end_date"] >= day)
            ),
        ),
    ),
    "participants_for_workspace_id": lambda w: (
        {"participants_for_workspace_id": w.busiest_workspace()},
        _wm(w, lambda wm: str(wm["user_id"]) in w.people(w.busiest_workspace())),
    ),
    "participating_with": lambda w: (
        {"participating_with": "true"},
        _wm(w, lambda wm: str(wm["user_id"]) == w.fake.me),
    ),
    "user_ids": lambda w: ({"user_ids": "3,4,5"}, _wm(w, lambda wm: wm["user_id"] in (3, 4, 5))),
}


def test_the_table_covers_every_documented_filter() -> None:
    assert len(USERS) == 58 and len(MEMBERSHIPS) == 8
    users_known = set(USER_PROBES) | {name for key, name in REFUSED if key == "users"}
    assert users_known == set(USERS)
    assert set(USER_PROBES).isdisjoint(name for _, name in REFUSED)
    assert set(MEMBERSHIP_PROBES) == set(MEMBERSHIPS)


@pytest.mark.parametrize("name", [n for n in USERS if ("users", n) not in REFUSED])
async def test_each_users_filter_is_applied_as_documented(fake: FakeKantata, name: str) -> None:
    world = World(fake)
    params, expected = USER_PROBES[name](world)
    unfiltered = world.base()
    assert expected, "the probe should match someone"
    assert expected != unfiltered, "the probe should narrow or change the list"
    status, got = await list_ids(fake, "users", params)
    assert status == 200, got
    assert got == expected


@pytest.mark.parametrize("name", MEMBERSHIPS)
async def test_each_workweek_membership_filter_is_applied_as_documented(
    fake: FakeKantata, name: str
) -> None:
    world = World(fake)
    params, expected = MEMBERSHIP_PROBES[name](world)
    assert expected and expected != set(my_memberships(fake))
    assert len(expected) <= 200
    status, got = await list_ids(fake, "workweek_memberships", params)
    assert status == 200, got
    assert got == expected


@pytest.mark.parametrize(("key", "name"), sorted(REFUSED))
async def test_a_filter_the_fake_cannot_apply_is_refused_by_name(
    fake: FakeKantata, key: str, name: str
) -> None:
    status, body = await list_ids(fake, key, {name: "anything"})
    assert status == 501
    [error] = body["errors"]
    assert error["type"] == "system"
    assert error["message"].startswith(f"FakeKantata does not model filter '{name}'")
    # Blank is no value at all, as in Brainstem: nothing to refuse.
    assert (await list_ids(fake, key, {name: ""}))[0] == 200
