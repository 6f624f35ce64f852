"""Generation of the seeded account behind `Dataset`: who is there and how they connect.

`generate(data, rng, anchor)` fills an empty `Dataset` with two accounts: "1" (the requester's,
most users) and "2" (one user in 15), then projects and participation, contacts,
geographies and departments, custom fields and their values, external references, skills
with levels, workweeks, timesheet submissions, tasks, holiday calendars, estimates, rates and
utilization targets: what Kantata's filters look at, small and deterministic. Every date and
timestamp lies before `anchor` (the start of the dataset's day), except workweek memberships
and utilization targets that start later on purpose. The people are made in `_people.py`
(and `_profiles.py`), the projects in `_projects.py`.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from ._calendar import DAYS, Stamps, sunday_on_or_before
from ._people import SKILL_WORDS, People
from ._projects import add_projects

if TYPE_CHECKING:
    from ._dataset import Dataset

__all__ = ["DAYS", "ROLE_NAMES", "generate"]

ROLE_NAMES = (
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
)
# The one role marked deleted: hidden by `GET /roles` unless `only_active=false`.
DELETED_ROLE = "Coordinator"
_SKILL_CATEGORIES = ("Engineering", "Design", "Business", "Operations", "Languages", "Other")
_GEOGRAPHIES: tuple[tuple[str, str | None], ...] = (
    ("Americas", None),
    ("United States", "Americas"),
    ("Canada", "Americas"),
    ("EMEA", None),
    ("Portugal", "EMEA"),
    ("Kenya", "EMEA"),
    ("APAC", None),
    ("Japan", "APAC"),
)
_DEPARTMENTS: tuple[tuple[str, str | None], ...] = (
    ("Delivery", None),
    ("Engineering", "Delivery"),
    ("Design", "Delivery"),
    ("Sales", None),
    ("Finance", None),
)
_CALENDARS = ("United States holidays", "Portugal holidays", "Japan holidays")


def generate(data: Dataset, rng: random.Random, anchor: datetime) -> Stamps:
    """Fill `data` (empty) with the seeded account; the stamps it drew from."""
    stamps = Stamps(rng, anchor)
    today = anchor.date()
    role_ids = _roles(data, stamps)
    skill_ids = _skills(data, stamps)
    workweek_ids = _workweeks(data, stamps, today)
    _organizations(data, stamps)
    _custom_fields(data, stamps)
    for name in _CALENDARS:
        data.add("holiday_calendars", {"name": name, "default": name == _CALENDARS[0]})
    People(
        data, rng, stamps, role_ids=role_ids, skill_ids=skill_ids, workweek_ids=workweek_ids
    ).add_all()
    add_projects(data, rng, stamps, today)
    _catalogue_references(data, stamps)
    return stamps


def _roles(data: Dataset, stamps: Stamps) -> list[str]:
    out = []
    for name in ROLE_NAMES:
        created, updated = stamps.pair()
        role = data.add(
            "roles",
            {
                "name": name,
                "created_at": created,
                "updated_at": updated,
                "deleted_at": updated if name == DELETED_ROLE else None,
                "external_reference_ids": [],
            },
        )
        if name != DELETED_ROLE:
            out.append(role["id"])
    return out


def _skills(data: Dataset, stamps: Stamps) -> list[str]:
    for name in _SKILL_CATEGORIES:
        data.add("skill_categories", {"name": name})
    out = []
    for i in range(60):
        created, updated = stamps.pair()
        word = SKILL_WORDS[i % len(SKILL_WORDS)]
        skill = data.add(
            "skills",
            {
                "name": f"{word} {i // len(SKILL_WORDS) + 1}",
                "description": f"Skill number {i + 1}",
                "max_level": "5",
                "skill_category_id": str(i % len(_SKILL_CATEGORIES) + 1),
                "external_reference_ids": [],
                "created_at": created,
                "updated_at": updated,
            },
        )
        out.append(skill["id"])
    return out


def _workweeks(data: Dataset, stamps: Stamps, today: date) -> list[str]:
    start = sunday_on_or_before(today - timedelta(days=730))
    out = []
    for i in range(4):
        created, updated = stamps.pair()
        minutes = [0, 480, 480, 480, 480, 480 - 120 * i, 0]
        workweek = data.add(
            "workweeks",
            {
                "default": i == 0,
                "start_date": start.isoformat(),
                # The last one is a schedule planned to end in a year.
                "end_date": (today + timedelta(days=365)).isoformat() if i == 3 else None,
                **{f"{day}_minutes": m for day, m in zip(DAYS, minutes, strict=True)},
                "total_minutes": sum(minutes),
                "created_at": created,
                "updated_at": updated,
                "workweek_membership_ids": [],
            },
        )
        out.append(workweek["id"])
    return out


def _organizations(data: Dataset, stamps: Stamps) -> None:
    for kind, tree in (("Geography", _GEOGRAPHIES), ("Department", _DEPARTMENTS)):
        ids: dict[str, str] = {}
        for name, parent in tree:
            created, updated = stamps.pair()
            parent_id = ids[parent] if parent is not None else None
            ancestors = [] if parent_id is None else [parent_id]
            org = data.add(
                "organizations",
                {
                    "name": name,
                    "type": kind,
                    "parent_id": parent_id,
                    "ancestor_ids": ancestors,
                    "created_at": created,
                    "updated_at": updated,
                },
            )
            ids[name] = org["id"]


# (name, value_type, choices)
_FIELDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Region", "single", ("North", "South", "East", "West")),
    ("Cost center", "string", ()),
    ("Level", "number", ()),
    ("Start date", "date", ()),
    ("Day rate", "currency", ()),
    ("Languages", "multi", ("English", "Spanish", "Japanese", "Swahili", "Norwegian")),
)


def _custom_fields(data: Dataset, stamps: Stamps) -> None:
    for name, value_type, choices in _FIELDS:
        created, updated = stamps.pair()
        field = data.add(
            "custom_fields",
            {
                "name": name,
                "value_type": value_type,
                "subject_type": "User",
                "choice_ids": [],
                "creator_id": "1",
                "custom_field_set_id": "1",
                "default_text": "CC-100" if value_type == "string" else None,
                "read_access": 0,
                "write_access": 0,
                "unique_constraint": False,
                "external_reference_ids": [],
                "created_at": created,
                "updated_at": updated,
            },
        )
        for position, label in enumerate(choices, start=1):
            choice = data.add(
                "custom_field_choices",
                {
                    "custom_field_id": field["id"],
                    "label": label,
                    "position": position,
                    "external_reference_ids": [],
                    "created_at": created,
                    "updated_at": updated,
                },
            )
            field["choice_ids"].append(choice["id"])


def _catalogue_references(data: Dataset, stamps: Stamps) -> None:
    """A learning system knows the first few skills, roles, custom fields and their values."""
    for key, model in (
        ("skills", "Course"),
        ("roles", "JobProfile"),
        ("custom_fields", "Attribute"),
        ("custom_field_choices", "AttributeValue"),
        ("custom_field_values", "AttributeValue"),
    ):
        subject_type = COLLECTION_SUBJECTS[key]
        for record in list(data.records.get(key, {}).values())[:3]:
            created, updated = stamps.pair()
            reference = data.add(
                "external_references",
                {
                    "service_name": "lms",
                    "service_model": model,
                    "service_model_ref": str(900_000 + int(record["id"])),
                    "status": "successful",
                    "external_link": None,
                    "external_message": None,
                    "external_status": "active",
                    "locked": False,
                    "last_synced_at": updated,
                    "subject_type": subject_type,
                    "subject_id": int(record["id"]),
                    "subject_ref": {"key": key, "id": record["id"]},
                    "created_at": created,
                    "updated_at": updated,
                },
            )
            record["external_reference_ids"].append(reference["id"])


COLLECTION_SUBJECTS = {
    "custom_field_values": "CustomFieldValue",
    "skills": "Skill",
    "roles": "Role",
    "custom_fields": "CustomField",
    "custom_field_choices": "CustomFieldChoice",
}
