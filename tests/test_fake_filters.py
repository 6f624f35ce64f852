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
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

import pytest
from conftest import call, my_memberships, visible
from oracles import (
    MEMBERSHIP_PROBES,
    Probe,
    World,
    custom_value_probe,
    possible_managees,
    possible_managers,
    reference_probe,
    shared_workspace,
    skills_probe,
    stamp_probe,
    story,
    timesheets_probe,
)

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
    """The status and, when 200, the ids listed (all on one page)."""
    answer = await call(fake, "GET", key, params={"per_page": "200", **params})
    body = answer.json()
    if answer.status != 200:
        return answer.status, body
    assert body["count"] == len(body["results"]) <= 200
    return 200, {r["id"] for r in body["results"]}


def approver(participation: dict[str, Any]) -> bool:
    """A provider with financial access."""
    return bool(participation["role"] == "maven" and participation["access_level"] == "financial")


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
    "by_custom_choice_value": custom_value_probe("choice"),
    "by_custom_currency_value": custom_value_probe("currency"),
    "by_custom_date_value": custom_value_probe("date"),
    "by_custom_number_value": custom_value_probe("number"),
    "by_custom_text_value": custom_value_probe("text"),
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
        {"can_be_approver_in_workspace": (ws := w.busiest_workspace(approver))},
        w.base() & w.people(ws, approver),
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
    **{
        name: stamp_probe(name, lambda w: w.users, lambda w, ids: ids & w.base())
        for name in ("created_after", "created_before", "updated_after", "updated_before")
    },
    "external_reference_external_message": reference_probe(
        "external_reference_external_message",
        "Duplicate contact",
        lambda r: r["external_message"] == "Duplicate contact",
    ),
    "external_reference_external_status": reference_probe(
        "external_reference_external_status",
        "inactive",
        lambda r: r["external_status"] == "inactive",
    ),
    "external_reference_service_model": reference_probe(
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
    "external_reference_service_name": reference_probe(
        "external_reference_service_name", "crm", lambda r: r["service_name"] == "crm"
    ),
    "external_reference_status": reference_probe(
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
        {"not_assigned_to": story(w)["id"]},
        w.base() - set(story(w)["assignee_ids"]),
    ),
    "not_following": lambda w: (
        {"not_following": story(w)["id"]},
        w.base() - set(story(w)["follower_ids"]),
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
        {"on_my_account_or_participant_in_workspace": (ws := shared_workspace(w))},
        {
            i
            for i in visible(w.fake, on_my_account=True) | w.people(ws)
            if not w.users[i]["disabled"]
        },
    ),
    "only_possible_managees": lambda w: (
        {"only_possible_managees": "true"},
        w.base() & possible_managees(w),
    ),
    "only_possible_managers": lambda w: (
        {"only_possible_managers": "true"},
        w.base() & possible_managers(w),
    ),
    "participant_in": lambda w: (
        {"participant_in": w.busiest_workspace()},
        w.base() & w.people(w.busiest_workspace()),
    ),
    "potential_followers_for_story": lambda w: (
        {"potential_followers_for_story": story(w)["id"]},
        w.base() & (w.people(story(w)["workspace_id"]) - set(story(w)["follower_ids"])),
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
    "with_created_estimates": lambda w: (
        {"with_created_estimates": "true"},
        w.base() & {e["creator_id"] for e in w.records["estimates"].values()},
    ),
    "with_skills": skills_probe,
    "with_users": lambda w: (
        {"with_users": ",".join(sorted(w.base(), key=int)[:3])},
        set(sorted(w.base(), key=int)[:3]),
    ),
    "without_skills": lambda w: (
        {"without_skills": "1,2"},
        w.where(lambda u: not {"1", "2"} & set(u["skill_ids"])),
    ),
    "without_timesheet_submission": timesheets_probe,
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
