"""A seeded, deterministic Kantata account and the wire format its records travel in.

`Dataset` holds canonical records (every field, every association id) per top-level key, and
`Dataset.envelope` renders a response the way the real API does: the primary records in
`results` order, each record showing its default fields, the optional fields asked for and the
association ids of the includes asked for, and every included record under its own key.

The fake server answers from it; tests and benchmarks use it directly to get realistic pages.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

__all__ = ["INCLUDES", "Dataset", "Include"]


@dataclass(frozen=True)
class Include:
    """An association one level deep: `include=<name>` adds `field` and sideloads `target`."""

    field: str
    target: str


# What `include=` accepts per primary key (unknown names are dropped, as the server does).
INCLUDES: dict[str, dict[str, Include]] = {
    "users": {
        "account_membership": Include("account_membership_id", "account_memberships"),
        "custom_field_values": Include("custom_field_value_ids", "custom_field_values"),
        "external_references": Include("external_reference_ids", "external_references"),
        "manager": Include("manager_id", "users"),
        "role": Include("role_id", "roles"),
        "skill_memberships": Include("skill_membership_ids", "skill_memberships"),
        "skills": Include("skill_ids", "skills"),
        "work_samples": Include("work_sample_ids", "work_samples"),
    },
    "workweek_memberships": {
        "user": Include("user_id", "users"),
        "workweek": Include("workweek_id", "workweeks"),
    },
    "workweeks": {
        "workweek_memberships": Include("workweek_membership_ids", "workweek_memberships"),
    },
    "account_memberships": {
        "user": Include("user_id", "users"),
        "skill_memberships": Include("skill_membership_ids", "skill_memberships"),
        "default_role": Include("default_role_id", "roles"),
        "manager": Include("manager_id", "users"),
        "effective_workweek": Include("effective_workweek_id", "workweeks"),
    },
    "skill_memberships": {
        "creator": Include("creator_id", "users"),
        "skill": Include("skill_id", "skills"),
        "user": Include("user_id", "users"),
    },
    "skills": {
        "external_references": Include("external_reference_ids", "external_references"),
    },
    "roles": {
        "external_references": Include("external_reference_ids", "external_references"),
    },
    "custom_field_values": {
        "external_references": Include("external_reference_ids", "external_references"),
        "selected_choices": Include("selected_choice_ids", "choices"),
        "setter": Include("setter_id", "users"),
    },
}

# Fields optional_fields= may ask for; everything else that is not an include id is default.
OPTIONAL_FIELDS: dict[str, frozenset[str]] = {
    "users": frozenset(
        {
            "bio",
            "website",
            "city",
            "state",
            "country",
            "abbreviated_timezone",
            "last_site_activity",
            "classification",
        }
    ),
}

# Foreign keys stored on the record's own row, which the server returns without an include.
NATIVE_KEYS: dict[str, frozenset[str]] = {
    "account_memberships": frozenset({"user_id", "default_role_id"}),
    "skill_memberships": frozenset({"user_id", "skill_id"}),
    "workweek_memberships": frozenset({"user_id"}),
}

_FIRST = [
    "Ann",
    "Ben",
    "Cara",
    "Dev",
    "Eli",
    "Fay",
    "Gus",
    "Hana",
    "Ivo",
    "Jin",
    "Kai",
    "Lea",
    "Max",
    "Nia",
    "Omar",
    "Pia",
    "Quinn",
    "Rui",
    "Sam",
    "Tess",
    "Uma",
    "Vic",
    "Wen",
    "Xia",
    "Yuri",
    "Zoe",
]
_LAST = [
    "Abbott",
    "Baker",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Moreau",
    "Novak",
    "Okafor",
    "Patel",
    "Quist",
    "Rossi",
    "Silva",
    "Tanaka",
    "Ueda",
    "Varga",
    "Weber",
    "Xu",
    "Young",
    "Zimmer",
]
_ROLES = [
    "Designer",
    "Developer",
    "Consultant",
    "Project",
    "Manager",
    "Analyst",
    "Architect",
    "Engineer",
    "Director",
    "Coordinator",
    "Specialist",
    "Strategist",
    "Researcher",
]
_SKILL_WORDS = [
    "Python",
    "Go",
    "Rust",
    "SQL",
    "Design",
    "Research",
    "Sales",
    "Finance",
    "Writing",
    "Cloud",
    "Security",
    "Data",
    "Testing",
    "Mobile",
    "Web",
    "Ops",
    "Support",
    "Training",
    "Legal",
    "Audit",
]
_TZ = timezone(timedelta(hours=-7))
_EPOCH = datetime(2024, 1, 1, 9, 0, tzinfo=_TZ)


def _stamp(rng: random.Random) -> tuple[str, str]:
    created = _EPOCH + timedelta(minutes=rng.randrange(0, 500_000))
    updated = created + timedelta(minutes=rng.randrange(0, 200_000))
    return created.isoformat(), updated.isoformat()


def _sunday(rng: random.Random) -> date:
    day = date(2024, 1, 7) + timedelta(weeks=rng.randrange(0, 100))
    assert day.weekday() == 6
    return day


@dataclass
class Dataset:
    """A whole account: `users` users and everything they link to, generated from `seed`.

    Ids are decimal strings, unique per key. The same `users` and `seed` give the same data.
    """

    users: int = 100
    seed: int = 0
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.users < 0:
            raise ValueError(f"users must be >= 0, got {self.users}")
        self._next_id: dict[str, int] = {}
        self._generate(random.Random(self.seed))

    # -- generation ---------------------------------------------------------------------

    def new_id(self, key: str) -> str:
        """A fresh id for a record under `key`."""
        n = self._next_id[key] if key in self._next_id else self._start(key)
        self._next_id[key] = n + 1
        return str(n)

    def _start(self, key: str) -> int:
        existing = self.records.get(key, {})
        return max((int(i) for i in existing), default=0) + 1

    def add(self, key: str, record: dict[str, Any]) -> dict[str, Any]:
        """Store `record` under `key`, giving it a fresh id unless it has one."""
        if "id" not in record:
            record["id"] = self.new_id(key)
        self.records.setdefault(key, {})[record["id"]] = record
        return record

    def _generate(self, rng: random.Random) -> None:
        for name in _ROLES:
            created, updated = _stamp(rng)
            self.add(
                "roles",
                {
                    "name": name,
                    "created_at": created,
                    "updated_at": updated,
                    "deleted_at": None,
                    "external_reference_ids": [],
                },
            )
        skill_ids = []
        for i in range(60):
            created, updated = _stamp(rng)
            skill = self.add(
                "skills",
                {
                    "name": f"{_SKILL_WORDS[i % len(_SKILL_WORDS)]} {i // len(_SKILL_WORDS) + 1}",
                    "description": f"Skill number {i + 1}",
                    "max_level": "5",
                    "skill_category_id": str(i % 6 + 1),
                    "external_reference_ids": [],
                    "created_at": created,
                    "updated_at": updated,
                },
            )
            skill_ids.append(skill["id"])
        workweek_ids = []
        for i in range(4):
            created, updated = _stamp(rng)
            minutes = [0, 480, 480, 480, 480, 480 - 120 * i, 0]
            ww = self.add(
                "workweeks",
                {
                    "default": i == 0,
                    "start_date": date(2024, 1, 7).isoformat(),
                    "end_date": None,
                    **{
                        f"{day}_minutes": m
                        for day, m in zip(
                            (
                                "sunday",
                                "monday",
                                "tuesday",
                                "wednesday",
                                "thursday",
                                "friday",
                                "saturday",
                            ),
                            minutes,
                            strict=True,
                        )
                    },
                    "total_minutes": sum(minutes),
                    "created_at": created,
                    "updated_at": updated,
                    "workweek_membership_ids": [],
                },
            )
            workweek_ids.append(ww["id"])
        role_ids = list(self.records["roles"])
        managers = max(1, math.ceil(self.users / 10))
        for n in range(self.users):
            self._generate_user(rng, n, managers, role_ids, skill_ids, workweek_ids)

    def _generate_user(
        self,
        rng: random.Random,
        n: int,
        managers: int,
        role_ids: list[str],
        skill_ids: list[str],
        workweek_ids: list[str],
    ) -> None:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        uid = self.new_id("users")
        created, updated = _stamp(rng)
        user: dict[str, Any] = {
            "id": uid,
            "full_name": f"{first} {last}",
            "email_address": f"{first.lower()}.{last.lower()}.{uid}@example.com",
            "headline": rng.choice(_ROLES),
            "photo_path": f"/images/avatars/{uid}.png",
            "account_id": "1",
            "disabled": False,
            "bio": f"{first} works on {rng.choice(_SKILL_WORDS)}.",
            "website": None,
            "city": rng.choice(("Lisbon", "Austin", "Osaka", "Nairobi", "Oslo")),
            "state": None,
            "country": rng.choice(("PT", "US", "JP", "KE", "NO")),
            "abbreviated_timezone": "PDT",
            "last_site_activity": updated,
            "classification": rng.choice(("Internal", "External")),
            "role_id": rng.choice(role_ids),
            "manager_id": str(rng.randrange(1, managers + 1)) if n >= managers else None,
        }
        self.add("users", user)
        am_created, am_updated = _stamp(rng)
        am = self.add(
            "account_memberships",
            {
                "user_id": uid,
                "permission": rng.choice(("collaborator", "project_lead", "administrator")),
                "is_administrator": n == 0,
                "is_owner": n == 0,
                "is_project_lead": rng.random() < 0.3,
                "bill_rate_in_cents": rng.randrange(5_000, 30_000, 500),
                "cost_rate_in_cents": rng.randrange(2_000, 15_000, 500),
                "billability_target": rng.choice((60, 70, 80, 90)),
                "default_role_id": user["role_id"],
                "manager_id": user["manager_id"],
                "effective_workweek_id": rng.choice(workweek_ids),
                "disabled_at": None,
                "created_at": am_created,
                "updated_at": am_updated,
                "skill_membership_ids": [],
            },
        )
        user["account_membership_id"] = am["id"]
        user["skill_membership_ids"] = []
        user["skill_ids"] = rng.sample(skill_ids, k=rng.randrange(2, 9))
        for skill_id in user["skill_ids"]:
            created, updated = _stamp(rng)
            sm = self.add(
                "skill_memberships",
                {
                    "level": rng.randrange(1, 6),
                    "max_level": 5,
                    "cached_skill_name": self.records["skills"][skill_id]["name"],
                    "skill_id": skill_id,
                    "user_id": uid,
                    "creator_id": uid,
                    "created_at": created,
                    "updated_at": updated,
                },
            )
            user["skill_membership_ids"].append(sm["id"])
            am["skill_membership_ids"].append(sm["id"])
        user["custom_field_value_ids"] = []
        for cf in range(3):
            created, updated = _stamp(rng)
            value = rng.choice(("North", "South", "East", "West"))
            cfv = self.add(
                "custom_field_values",
                {
                    "custom_field_id": str(cf + 1),
                    "custom_field_name": ("Region", "Cost center", "Level")[cf],
                    "type": "string",
                    "value": value,
                    "display_value": value,
                    "can_edit": True,
                    "account_id": 1,
                    "subject_type": "User",
                    "subject_id": int(uid),
                    "setter_id": "1",
                    "selected_choice_ids": [],
                    "external_reference_ids": [],
                    "created_at": created,
                    "updated_at": updated,
                },
            )
            user["custom_field_value_ids"].append(cfv["id"])
        created, updated = _stamp(rng)
        ext = self.add(
            "external_references",
            {
                "service_name": "hris",
                "service_model": "Employee",
                "service_model_ref": f"E-{uid}",
                "status": "successful",
                "external_link": f"https://hris.example.com/employees/{uid}",
                "external_message": None,
                "external_status": "active",
                "locked": False,
                "last_synced_at": updated,
                "subject_type": "User",
                "subject_id": int(uid),
                "created_at": created,
                "updated_at": updated,
            },
        )
        user["external_reference_ids"] = [ext["id"]]
        user["work_sample_ids"] = []
        for _ in range(rng.randrange(0, 3)):
            ws = self.add(
                "work_samples",
                {
                    "title": f"Case study {rng.randrange(1, 999)}",
                    "description": "A project we are proud of.",
                    "website_url": "https://portfolio.example.com/",
                    "trapped_website_url": "https://portfolio.example.com/",
                    "attachment_id": None,
                    "attachment_filename": None,
                },
            )
            user["work_sample_ids"].append(ws["id"])
        start = _sunday(rng)
        for _ in range(rng.randrange(1, 3)):
            created, updated = _stamp(rng)
            ww_id = rng.choice(workweek_ids)
            wm = self.add(
                "workweek_memberships",
                {
                    "start_date": start.isoformat(),
                    "end_date": None,
                    "user_id": int(uid),
                    "workweek_id": ww_id,
                    "created_at": created,
                    "updated_at": updated,
                },
            )
            self.records["workweeks"][ww_id]["workweek_membership_ids"].append(wm["id"])
            start += timedelta(weeks=rng.randrange(4, 40))

    # -- rendering ----------------------------------------------------------------------

    def render(
        self,
        key: str,
        record: dict[str, Any],
        include: Iterable[str] = (),
        optional_fields: Iterable[str] = (),
    ) -> dict[str, Any]:
        """One record as the server sends it for these `include` and `optional_fields`."""
        includes = INCLUDES.get(key, {})
        optional = OPTIONAL_FIELDS.get(key, frozenset())
        id_fields = {inc.field for inc in includes.values()}
        native = NATIVE_KEYS.get(key, frozenset())
        wanted_ids = {includes[name].field for name in include if name in includes}
        wanted_optional = optional.intersection(optional_fields)
        out = {}
        for k, v in record.items():
            if k in id_fields and k not in native and k not in wanted_ids:
                continue
            if k in optional and k not in wanted_optional:
                continue
            out[k] = list(v) if isinstance(v, list) else v
        return out

    def envelope(
        self,
        key: str,
        ids: Sequence[str],
        *,
        include: Sequence[str] = (),
        optional_fields: Sequence[str] = (),
        count: int | None = None,
        page: int = 1,
        per_page: int | None = None,
    ) -> dict[str, Any]:
        """A response envelope whose primary records are `ids` under `key`, in that order.

        `count` is the total the query matched (default: `len(ids)`); `meta` is computed the
        way Kantata computes it. Include names the key does not know are dropped.
        """
        total = len(ids) if count is None else count
        size = per_page or max(len(ids), 1)
        store = self.records.get(key, {})
        includes = INCLUDES.get(key, {})
        wanted = [name for name in dict.fromkeys(include) if name in includes]
        body: dict[str, Any] = {
            "count": total,
            "meta": {
                "count": total,
                "page_count": math.ceil(total / size) if total > 0 else 0,
                "page_number": page if total > 0 else 0,
                "page_size": size,
            },
            "results": [{"key": key, "id": i} for i in ids],
        }
        # Included keys exist even when empty, as the server creates them.
        for name in wanted:
            body.setdefault(includes[name].target, {})
        primaries = body.setdefault(key, {})
        for i in ids:
            primaries[i] = self.render(key, store[i], wanted, optional_fields)
        for name in wanted:
            inc = includes[name]
            target_store = self.records.get(inc.target, {})
            out = body[inc.target]
            for i in ids:
                value = store[i].get(inc.field)
                for tid in value if isinstance(value, list) else [value]:
                    if tid is None:
                        continue
                    tid = str(tid)
                    if tid not in out and tid in target_store:
                        out[tid] = self.render(inc.target, target_store[tid])
        return body
