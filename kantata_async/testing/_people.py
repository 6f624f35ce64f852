"""Generation of the people of the seeded account: users and everything hanging off each one.

Users, their account memberships (permission levels, rates, utilization targets, backup
approvers), skills with levels, custom field values of every type, external references, work
samples, workweek memberships, geography and department, holiday calendar, insights access and
contacts. Called by `_generate.generate`, which adds the projects afterwards.
"""

from __future__ import annotations

import math
import random
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ._profiles import ProfileParts

if TYPE_CHECKING:
    from ._calendar import Stamps
    from ._dataset import Dataset

__all__ = [
    "DISABLED_EVERY",
    "LAST_NAMES",
    "OTHER_ACCOUNT_EVERY",
    "PERMISSIONS",
    "SKILL_WORDS",
    "People",
]

FIRST_NAMES = (
    "Ann", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jin", "Kai", "Lea", "Max",
    "Nia", "Omar", "Pia", "Quinn", "Rui", "Sam", "Tess", "Uma", "Vic", "Wen", "Xia", "Yuri", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Abbott", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
    "Kowalski", "Lopez", "Moreau", "Novak", "Okafor", "Patel", "Quist", "Rossi", "Silva",
    "Tanaka", "Ueda", "Varga", "Weber", "Xu", "Young", "Zimmer",
)  # fmt: skip
SKILL_WORDS = (
    "Python", "Go", "Rust", "SQL", "Design", "Research", "Sales", "Finance", "Writing", "Cloud",
    "Security", "Data", "Testing", "Mobile", "Web", "Ops", "Support", "Training", "Legal", "Audit",
)  # fmt: skip
# Kantata's account permission levels, lowest first.
PERMISSIONS = (
    "collaborator",
    "project_creator",
    "reports_viewer",
    "reports_viewer_with_cost",
    "project_lead",
    "administrator",
)
_PERMISSION_WEIGHTS = (50, 15, 10, 5, 15, 5)
# One user in DISABLED_EVERY (never a manager, never the first user) is disabled; one in
# OTHER_ACCOUNT_EVERY (never a manager) belongs to account "2".
DISABLED_EVERY = 20
OTHER_ACCOUNT_EVERY = 15
_PLACES = (
    ("Lisbon", None, "PT", "Portugal"),
    ("Austin", "TX", "US", "United States"),
    ("Osaka", None, "JP", "Japan"),
    ("Nairobi", None, "KE", "Kenya"),
    ("Toronto", "ON", "CA", "Canada"),
)


class People(ProfileParts):
    """Adds the people of a dataset: `People(...).add_all()` adds `data.users` users, each
    with what belongs to them, then links everyone's contacts."""

    def __init__(
        self,
        data: Dataset,
        rng: random.Random,
        stamps: Stamps,
        *,
        role_ids: list[str],
        skill_ids: list[str],
        workweek_ids: list[str],
    ) -> None:
        self.data = data
        self.rng = rng
        self.stamps = stamps
        self.role_ids = role_ids
        self.skill_ids = skill_ids
        self.workweek_ids = workweek_ids
        self.orgs = {o["name"]: o["id"] for o in data.records["organizations"].values()}
        self.fields = list(data.records["custom_fields"].values())
        self.today = stamps.anchor.date()

    def add_all(self) -> None:
        """Every user, in order; one in ten is a manager; then the contacts."""
        managers = max(1, math.ceil(self.data.users / 10))
        for n in range(self.data.users):
            self.add(n, managers)
        self.link_contacts()

    def add(self, n: int, managers: int) -> None:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        uid = self.data.new_id("users")
        other = n >= managers and n % OTHER_ACCOUNT_EVERY == OTHER_ACCOUNT_EVERY - 1
        account = "2" if other else "1"
        city, state, country, _ = rng.choice(_PLACES)
        created, updated = self.stamps.pair()
        user: dict[str, Any] = {
            "id": uid,
            "full_name": f"{first} {last}",
            "email_address": f"{first.lower()}.{last.lower()}.{uid}@example.com",
            "headline": rng.choice(("Designer", "Developer", "Consultant", "Analyst", None)),
            "photo_path": f"/images/avatars/{uid}.png",
            "account_id": account,
            "disabled": not other and n >= managers and n % DISABLED_EVERY == DISABLED_EVERY - 1,
            "bio": f"{first} works on {rng.choice(SKILL_WORDS)}.",
            "website": f"https://{first.lower()}{uid}.example.com" if rng.random() < 0.4 else None,
            "city": city,
            "state": state,
            "country": country,
            "abbreviated_timezone": "PDT",
            "last_site_activity": self.stamps.recent(30) if rng.random() < 0.9 else None,
            "classification": "External" if other else rng.choice(("Internal", "External")),
            "role_id": rng.choice(self.role_ids),
            "manager_id": None if other or n < managers else str(rng.randrange(1, managers + 1)),
            "created_at": created,
            "updated_at": updated,
            "contact_ids": [],
        }
        self.data.add("users", user)
        self._membership(user, n)
        self._skills(user)
        self._custom_field_values(user)
        self._references(user)
        self._work_samples(user)
        self._workweeks(user)
        if not other:
            self._places(user, n)

    def _membership(self, user: dict[str, Any], n: int) -> None:
        rng = self.rng
        level = len(PERMISSIONS) - 1 if n == 0 else rng.choices(range(6), _PERMISSION_WEIGHTS)[0]
        permission = PERMISSIONS[level]
        created, updated = self.stamps.pair()
        membership = self.data.add(
            "account_memberships",
            {
                "user_id": user["id"],
                "permission": permission,
                "is_administrator": permission == "administrator",
                "is_owner": n == 0,
                "is_project_lead": level >= PERMISSIONS.index("project_lead"),
                "can_view_reports": level >= PERMISSIONS.index("reports_viewer"),
                "can_create_workspace": level >= PERMISSIONS.index("project_creator"),
                "can_log_in": not user["disabled"],
                "collaborator_only_license": level == 0 and rng.random() < 0.3,
                "default_read_only": rng.random() < 0.1,
                "is_punch_clock_user": rng.random() < 0.1,
                "manager_can_approve": rng.random() < 0.5,
                "manager_can_edit_skills": rng.random() < 0.5,
                "should_show_alert_on_timesheet_submission": rng.random() < 0.2,
                "bill_rate_in_cents": rng.randrange(5_000, 30_000, 500),
                "cost_rate_in_cents": rng.randrange(2_000, 15_000, 500),
                "billability_target": rng.choice((60, 70, 80, 90)),
                "default_role_id": user["role_id"],
                "manager_id": user["manager_id"],
                "effective_workweek_id": rng.choice(self.workweek_ids),
                "disabled_at": updated if user["disabled"] else None,
                "created_at": created,
                "updated_at": updated,
                "skill_membership_ids": [],
                "cost_rate_ids": [],
                "future_billable_utilization_ids": [],
            },
        )
        user["account_membership_id"] = membership["id"]
        if rng.random() < 1 / 3:
            rate = self.data.add(
                "cost_rates",
                {
                    "account_membership_id": int(membership["id"]),
                    "amount_in_subunits": membership["cost_rate_in_cents"],
                    "currency": rng.choice(("USD", "EUR")),
                    "in_use": True,
                    "created_at": created,
                    "updated_at": updated,
                },
            )
            membership["cost_rate_ids"].append(rate["id"])
        if rng.random() < 0.25:
            target = self.data.add(
                "billable_utilizations",
                {
                    "account_membership_id": membership["id"],
                    "creator_id": "1",
                    "effective_date": (
                        self.today + timedelta(days=rng.randrange(1, 90))
                    ).isoformat(),
                    "target": rng.choice((65, 75, 85)),
                    "created_at": created,
                    "updated_at": updated,
                },
            )
            membership["future_billable_utilization_ids"].append(target["id"])
        if user["manager_id"] is None and n > 0 and user["account_id"] == "1" and n % 2 == 1:
            # A manager with a backup approver: the account owner stands in.
            self.data.add(
                "backup_approver_associations",
                {
                    "approver_id": user["id"],
                    "backup_approver_id": "1",
                    "start_date": self.stamps.recent(60),
                    # Every other stand-in is booked for a year.
                    "end_date": (self.stamps.anchor + timedelta(days=365)).isoformat()
                    if n % 4 == 1
                    else None,
                },
            )
        if rng.random() < 0.125:
            self.data.add(
                "insights_access_group_memberships",
                {
                    "user_id": user["id"],
                    "insights_access_group_id": "1",
                    "account_permission": permission,
                },
            )

    def _skills(self, user: dict[str, Any]) -> None:
        rng = self.rng
        membership = self.data.records["account_memberships"][user["account_membership_id"]]
        user["skill_membership_ids"] = []
        user["skill_ids"] = rng.sample(self.skill_ids, k=rng.randrange(2, 9))
        skills = self.data.records["skills"]
        for skill_id in user["skill_ids"]:
            created, updated = self.stamps.pair()
            sm = self.data.add(
                "skill_memberships",
                {
                    "level": rng.randrange(1, 6),
                    "max_level": 5,
                    "cached_skill_name": skills[skill_id]["name"],
                    "skill_id": skill_id,
                    "user_id": user["id"],
                    "creator_id": user["manager_id"] or user["id"],
                    "created_at": created,
                    "updated_at": updated,
                },
            )
            user["skill_membership_ids"].append(sm["id"])
            membership["skill_membership_ids"].append(sm["id"])

    def link_contacts(self) -> None:
        """Give everyone a few contacts; the owner's include someone of the other account."""
        users = self.data.records.get("users", {})
        ids = list(users)
        for user in users.values():
            picks = self.rng.sample(ids, k=min(len(ids), 3))
            user["contact_ids"] = [i for i in picks if i != user["id"]]
        owner = users.get("1")
        outsider = next((u["id"] for u in users.values() if u["account_id"] != "1"), None)
        if owner is not None and outsider is not None and outsider not in owner["contact_ids"]:
            owner["contact_ids"].append(outsider)
