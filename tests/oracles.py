"""Oracles for the filter tests: what each filter means, stated on the dataset's records.

`World` is the dataset seen from the requester; a `Probe` gives the query parameters for one
filter and the ids the fake must answer with. Independent of the fake's own code on purpose:
they say again, in terms of records, what the fake's declarations are meant to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conftest import my_memberships, visible

from kantata_async.testing import FakeKantata

__all__ = [
    "MEMBERSHIP_PROBES",
    "Probe",
    "World",
    "custom_value_probe",
    "possible_managees",
    "possible_managers",
    "reference_probe",
    "shared_workspace",
    "skills_probe",
    "stamp_probe",
    "story",
    "timesheets_probe",
]

Records = dict[str, dict[str, dict[str, Any]]]


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

    def busiest_workspace(
        self, test: Callable[[dict[str, Any]], bool] = lambda p: True, account: str = "1"
    ) -> str:
        """The project of `account` with the most people passing `test`: filters on it
        narrow visibly."""
        workspaces = [
            w for w, ws in self.records["workspaces"].items() if ws["account_id"] == account
        ]
        return max(workspaces, key=lambda w: (len(self.people(w, test)), -int(w)))

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


def custom_value_probe(kind: str) -> Probe:
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


def reference_probe(filter_name: str, value: str, test: Callable[[dict[str, Any]], bool]) -> Probe:
    return lambda w: (
        {filter_name: value},
        w.where(lambda u: any(test(r) for r in w.references(u))),
    )


def possible_managers(w: World) -> set[str]:
    below = w.chain_below(w.fake.me) | {w.fake.me}
    return {
        i
        for i, u in w.users.items()
        if u["account_id"] == w.me["account_id"]
        and not u["disabled"]
        and i not in below
        and w.membership(u)["permission"] in ("project_lead", "administrator")
    }


def possible_managees(w: World) -> set[str]:
    return {
        i
        for i, u in w.users.items()
        if u["account_id"] == w.me["account_id"]
        and not u["disabled"]
        and i != w.fake.me
        and u["manager_id"] is None
    }


def skills_probe(w: World) -> tuple[dict[str, str], set[str]]:
    held = [sm for sm in w.records["skill_memberships"].values() if sm["user_id"] in w.base()]
    skill = max(
        {sm["skill_id"] for sm in held}, key=lambda s: sum(sm["skill_id"] == s for sm in held)
    )

    def good(u: dict[str, Any]) -> bool:
        mine = [w.records["skill_memberships"][i] for i in u["skill_membership_ids"]]
        return any(sm["skill_id"] == skill and sm["level"] >= 3 for sm in mine)

    return {"with_skills": f"{{'{skill}':[3,4,5],'operation':'and'}}"}, w.where(good)


def timesheets_probe(w: World) -> tuple[dict[str, str], set[str]]:
    submission = next(iter(w.records["timesheet_submissions"].values()))
    ws, start, end = submission["workspace_id"], submission["start_date"], submission["end_date"]
    done = {
        s["user_id"]
        for s in w.records["timesheet_submissions"].values()
        if s["workspace_id"] == ws and s["start_date"] <= end and s["end_date"] >= start
    }
    return {"without_timesheet_submission": f"{ws}:{start}:{end}"}, w.base() - done


def shared_workspace(w: World) -> str:
    """A project of my account with the most people of the other account."""
    mine = [x for x, ws in w.records["workspaces"].items() if ws["account_id"] == "1"]
    return max(mine, key=lambda x: (sum(w.users[u]["account_id"] == "2" for u in w.people(x)), x))


def story(w: World) -> dict[str, Any]:
    return max(
        w.records["stories"].values(),
        key=lambda s: (len(s["assignee_ids"]), len(s["follower_ids"])),
    )


def stamp_probe(
    name: str,
    records: Callable[[World], dict[str, dict[str, Any]]],
    among: Callable[[World, set[str]], set[str]],
) -> Probe:
    """`created_/updated_ after/before` at the median stamp of `records`: strictly after or
    before it, among the ids `among` keeps (those the endpoint lists)."""
    field = "created_at" if name.startswith("created") else "updated_at"

    def probe(w: World) -> tuple[dict[str, str], set[str]]:
        mine = records(w)
        cut = w.median([mine[i][field] for i in among(w, set(mine))])
        after = name.endswith("_after")
        hits = {i for i, r in mine.items() if (r[field] > cut if after else r[field] < cut)}
        return {name: cut}, among(w, hits)

    return probe


def _wm(w: World, test: Callable[[dict[str, Any]], bool]) -> set[str]:
    return {i for i, wm in my_memberships(w.fake).items() if test(wm)}


MEMBERSHIP_PROBES: dict[str, Probe] = {
    **{
        name: stamp_probe(name, lambda w: my_memberships(w.fake), lambda w, ids: set(ids))
        for name in ("created_after", "created_before", "updated_after", "updated_before")
    },
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
