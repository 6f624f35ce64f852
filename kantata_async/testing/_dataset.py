"""A seeded, deterministic Kantata account and the wire format its records travel in.

`Dataset` holds canonical records (every field, every association id) per top-level key, and
`Dataset.envelope` renders a response the way the real API does: the primary records in
`results` order, each record showing its default fields, the optional fields asked for and the
association ids of the includes asked for, and every included record under its own key.

The fake server answers from it; tests and benchmarks use it directly to get realistic pages.
The mutation helpers (`add_user`, `update`, `delete`, `add_workweek_membership`) change it the
way the server's write endpoints do, and bump `revision` so the server's caches notice.
"""

from __future__ import annotations

import gc
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

# Fields the server keeps (and filters on) but never presents: users are filtered by
# created_after/updated_after, yet the User schema has no timestamps.
HIDDEN_FIELDS: dict[str, frozenset[str]] = {
    "users": frozenset({"created_at", "updated_at"}),
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
# Generated stamps end before _EPOCH + 700,000 minutes; writes are stamped after that.
_WRITE_EPOCH = _EPOCH + timedelta(minutes=720_000)
DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
# One user in DISABLED_EVERY (never a manager, never the first user) is disabled.
DISABLED_EVERY = 20
DEFAULT_PHOTO_PATH = "/images/avatars/default.png"


def _stamp(rng: random.Random) -> tuple[str, str]:
    created = _EPOCH + timedelta(minutes=rng.randrange(0, 500_000))
    updated = created + timedelta(minutes=rng.randrange(0, 200_000))
    return created.isoformat(), updated.isoformat()


def _sunday(rng: random.Random) -> date:
    day = date(2024, 1, 7) + timedelta(weeks=rng.randrange(0, 100))
    assert day.weekday() == 6
    return day


def _shape(record: dict[str, Any], drop: frozenset[str], *, copy_lists: bool) -> dict[str, Any]:
    """A copy of `record` without the `drop` fields (lists copied too with `copy_lists`)."""
    out = record.copy()
    for name in drop:
        if name in out:
            del out[name]
    if copy_lists:
        # So that nothing holding the rendered record can change the dataset.
        for name, value in out.items():
            if type(value) is list:
                out[name] = value.copy()
    return out


@dataclass
class Dataset:
    """A whole account: `users` users and everything they link to, generated from `seed`.

    Ids are decimal strings, unique per key. The same `users` and `seed` give the same data.
    User "1" is the account owner. One user in 20 (never a manager) is disabled, with
    `disabled: true` and a `disabled_at` on the account membership. A user's workweek
    memberships form a timeline: each one ends the day before the next one starts.

    `users` is the size asked for at generation; `len(records["users"])` is the current size.

    Change the data through `add`, `add_user`, `update`, `delete` and
    `add_workweek_membership`: they keep the links consistent and bump `revision`, which the
    fake server uses to drop its sorted and filtered id lists. After editing `records` by
    hand, call `changed()`.

        data = Dataset(users=50, seed=3)
        new = data.add_user(full_name="Aaron Aardvark")      # sorts first alphabetically
        data.update("users", "7", full_name="Zed Zulu")     # bumps updated_at
        data.delete("users", "12")
    """

    users: int = 100
    seed: int = 0
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.users < 0:
            raise ValueError(f"users must be >= 0, got {self.users}")
        self._next_id: dict[str, int] = {}
        self._revision = 0
        self._clock = _WRITE_EPOCH
        self._drop_cache: dict[tuple[str, frozenset[str], frozenset[str]], frozenset[str]] = {}
        # Millions of small dicts and no garbage: the cyclic collector would only slow this down.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._generate(random.Random(self.seed))
        finally:
            if collecting:
                gc.enable()
        if collecting and self.users >= 1000:
            # Pay now for the first full collection over the new records, not on some request.
            gc.collect()

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
        self._revision += 1
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
            "disabled": n >= managers and n % DISABLED_EVERY == DISABLED_EVERY - 1,
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
            "created_at": created,
            "updated_at": updated,
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
                "disabled_at": am_updated if user["disabled"] else None,
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
        previous: dict[str, Any] | None = None
        for _ in range(rng.randrange(1, 3)):
            created, updated = _stamp(rng)
            ww_id = rng.choice(workweek_ids)
            if previous is not None:
                previous["end_date"] = (start - timedelta(days=1)).isoformat()
            previous = wm = self.add(
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
        drop = self._dropped(key, frozenset(include), frozenset(optional_fields))
        return _shape(record, drop, copy_lists=True)

    def _dropped(
        self, key: str, include: frozenset[str], optional_fields: frozenset[str]
    ) -> frozenset[str]:
        """The fields of a `key` record that these includes and optional fields leave out."""
        cache_key = (key, include, optional_fields)
        drop = self._drop_cache.get(cache_key)
        if drop is None:
            includes = INCLUDES.get(key, {})
            native = NATIVE_KEYS.get(key, frozenset())
            wanted_ids = {includes[name].field for name in include if name in includes}
            id_fields = {inc.field for inc in includes.values()} - native - wanted_ids
            optional = OPTIONAL_FIELDS.get(key, frozenset()) - optional_fields
            drop = frozenset(id_fields | optional | HIDDEN_FIELDS.get(key, frozenset()))
            if len(self._drop_cache) < 1024:
                self._drop_cache[cache_key] = drop
        return drop

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
        copy_lists: bool = True,
    ) -> dict[str, Any]:
        """A response envelope whose primary records are `ids` under `key`, in that order.

        `count` is the total the query matched (default: `len(ids)`); `meta` is computed the
        way Kantata computes it. Include names the key does not know are dropped.

        The records are new dicts; with `copy_lists=False` their lists (`skill_ids`, ...) are
        the dataset's own, which is faster and safe only for a body that is serialized at
        once (the fake server does that).
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
        drop = self._dropped(key, frozenset(wanted), frozenset(optional_fields))
        for i in ids:
            primaries[i] = _shape(store[i], drop, copy_lists=copy_lists)
        for name in wanted:
            inc = includes[name]
            target_store = self.records.get(inc.target, {})
            target_drop = self._dropped(inc.target, frozenset(), frozenset())
            out = body[inc.target]
            for i in ids:
                value = store[i].get(inc.field)
                if value is None:
                    continue
                for tid in value if type(value) is list else (value,):
                    if type(tid) is not str:
                        if tid is None:
                            continue
                        tid = str(tid)
                    if tid not in out:
                        target = target_store.get(tid)
                        if target is not None:
                            out[tid] = _shape(target, target_drop, copy_lists=copy_lists)
        return body

    # -- mutation -----------------------------------------------------------------------

    @property
    def revision(self) -> int:
        """A counter that every change made through this class (or `changed()`) increments."""
        return self._revision

    def changed(self) -> None:
        """Declare that `records` was edited by hand, so that caches built on it are dropped."""
        self._revision += 1

    def stamp(self) -> str:
        """A timestamp for a write: ISO 8601 with offset, later than every generated one.

        Each call returns a later stamp (by one second), so the same sequence of writes gives
        the same stamps on every run and `updated_at` strictly increases.
        """
        self._clock += timedelta(seconds=1)
        return self._clock.isoformat()

    def get(self, key: str, id: str) -> dict[str, Any] | None:
        """The stored record `id` under `key`, or None."""
        return self.records.get(key, {}).get(str(id))

    def update(self, key: str, id: str, /, **fields: Any) -> dict[str, Any]:
        """Set `fields` on record `id` under `key` and bump its `updated_at` (unless given).

        Raises KeyError when there is no such record. Returns the stored record.
        """
        record = self.records.get(key, {}).get(str(id))
        if record is None:
            raise KeyError(f"no {key} record with id {id!r}")
        record.update(fields)
        if "updated_at" not in fields and ("updated_at" in record or key == "users"):
            record["updated_at"] = self.stamp()
        self._revision += 1
        return record

    def delete(self, key: str, id: str) -> dict[str, Any]:
        """Remove record `id` under `key` and return it. Raises KeyError when it is missing.

        Deletes do not cascade: records that point at the deleted one keep the dangling id, as
        the API's own sideloads simply leave out records that are gone. A deleted workweek
        membership is also taken off its workweek, and the user's other memberships are
        re-linked (the one before it now runs until the next one starts).
        """
        store = self.records.get(key, {})
        record = store.pop(str(id), None)
        if record is None:
            raise KeyError(f"no {key} record with id {id!r}")
        if key == "workweek_memberships":
            workweek = self.get("workweeks", str(record.get("workweek_id")))
            if workweek is not None and record["id"] in workweek["workweek_membership_ids"]:
                workweek["workweek_membership_ids"].remove(record["id"])
            self.relink_workweek_memberships(str(record["user_id"]))
        self._revision += 1
        return record

    def add_user(
        self,
        full_name: str | None = None,
        *,
        email_address: str | None = None,
        account_id: str = "1",
        disabled: bool = False,
        manager_id: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Create a user with an account membership and no skills, and return the user.

        Defaults: `full_name` "User <id>", `email_address` "user.<id>@example.com". Any other
        user field can be given in `fields`. Deterministic: the same calls give the same ids
        and stamps.
        """
        uid = self.new_id("users")
        now = self.stamp()
        user: dict[str, Any] = {
            "id": uid,
            "full_name": full_name if full_name is not None else f"User {uid}",
            "email_address": email_address or f"user.{uid}@example.com",
            "headline": None,
            "photo_path": DEFAULT_PHOTO_PATH,
            "account_id": account_id,
            "disabled": disabled,
            "bio": None,
            "website": None,
            "city": None,
            "state": None,
            "country": None,
            "abbreviated_timezone": "PDT",
            "last_site_activity": None,
            "classification": "Internal",
            "role_id": None,
            "manager_id": manager_id,
            "created_at": now,
            "updated_at": now,
            "skill_membership_ids": [],
            "skill_ids": [],
            "custom_field_value_ids": [],
            "external_reference_ids": [],
            "work_sample_ids": [],
        }
        user.update(fields)
        self.add("users", user)
        am = self.add(
            "account_memberships",
            {
                "user_id": uid,
                "permission": "collaborator",
                "is_administrator": False,
                "is_owner": False,
                "is_project_lead": False,
                "bill_rate_in_cents": 0,
                "cost_rate_in_cents": 0,
                "billability_target": 0,
                "default_role_id": user["role_id"],
                "manager_id": user["manager_id"],
                "effective_workweek_id": self.default_workweek_id(),
                "disabled_at": now if user["disabled"] else None,
                "created_at": now,
                "updated_at": now,
                "skill_membership_ids": [],
            },
        )
        user["account_membership_id"] = am["id"]
        return user

    def default_workweek_id(self) -> str | None:
        """The id of the account's default workweek (the first with `default: true`)."""
        for workweek in self.records.get("workweeks", {}).values():
            if workweek.get("default"):
                return str(workweek["id"])
        return None

    def workweek_memberships_of(self, user_id: str) -> list[dict[str, Any]]:
        """A user's workweek memberships, by `start_date` then id."""
        uid = int(user_id)
        mine = [
            wm
            for wm in self.records.get("workweek_memberships", {}).values()
            if wm["user_id"] == uid
        ]
        mine.sort(key=lambda wm: (wm["start_date"], int(wm["id"])))
        return mine

    def relink_workweek_memberships(self, user_id: str) -> None:
        """Make a user's memberships a timeline again: each ends the day before the next.

        Memberships whose `end_date` changes get a new `updated_at`.
        """
        mine = self.workweek_memberships_of(user_id)
        for wm, following in zip(mine, [*mine[1:], None], strict=True):
            end = None
            if following is not None:
                next_start = date.fromisoformat(following["start_date"])
                end = (next_start - timedelta(days=1)).isoformat()
            if wm.get("end_date") != end:
                wm["end_date"] = end
                wm["updated_at"] = self.stamp()
        self._revision += 1

    def add_workweek_membership(
        self,
        user_id: str,
        start_date: date,
        *,
        workweek_id: str | None = None,
        minutes: dict[str, int] | None = None,
    ) -> dict[str, Any]:
        """Start a new workweek for a user on `start_date` and return the membership.

        With `minutes` (day name -> minutes, e.g. `{"monday": 480}`; missing days are 0), a
        new non-default workweek is created for it; with `workweek_id`, that workweek is used;
        with neither, the account default. The user's memberships are re-linked.
        """
        if minutes is not None:
            workweek_id = self.add_workweek(start_date, minutes)["id"]
        elif workweek_id is None:
            workweek_id = self.default_workweek_id()
        now = self.stamp()
        wm = self.add(
            "workweek_memberships",
            {
                "start_date": start_date.isoformat(),
                "end_date": None,
                "user_id": int(user_id),
                "workweek_id": workweek_id,
                "created_at": now,
                "updated_at": now,
            },
        )
        workweek = self.get("workweeks", str(workweek_id))
        if workweek is not None:
            workweek["workweek_membership_ids"].append(wm["id"])
        self.relink_workweek_memberships(str(user_id))
        return wm

    def add_workweek(self, start_date: date, minutes: dict[str, int]) -> dict[str, Any]:
        """Create a non-default workweek with these minutes per day (missing days are 0)."""
        per_day = {f"{day}_minutes": int(minutes.get(day, 0)) for day in DAYS}
        now = self.stamp()
        return self.add(
            "workweeks",
            {
                "default": False,
                "start_date": start_date.isoformat(),
                "end_date": None,
                **per_day,
                "total_minutes": sum(per_day.values()),
                "created_at": now,
                "updated_at": now,
                "workweek_membership_ids": [],
            },
        )
