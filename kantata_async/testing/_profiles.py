"""What each generated person has beside their membership: custom field values of every type,
external references, work samples, a timeline of workweek memberships, a geography and a
department, and a holiday calendar. A part of the people generator (`_people.py`).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._calendar import Stamps
    from ._dataset import Dataset

__all__ = ["ProfileParts"]

_CALENDAR_OF = {"US": "1", "CA": "1", "PT": "2", "JP": "3"}


class ProfileParts:
    """The per-person parts of the people generator (a mixin: it holds the state)."""

    data: Dataset
    rng: random.Random
    stamps: Stamps
    fields: list[dict[str, Any]]
    workweek_ids: list[str]
    orgs: dict[str, str]
    today: date

    def _custom_field_values(self, user: dict[str, Any]) -> None:
        rng = self.rng
        user["custom_field_value_ids"] = []
        choices = self.data.records["custom_field_choices"]
        for field in self.fields:
            if rng.random() >= 0.7:
                continue
            kind = field["value_type"]
            selected: list[str] = []
            extra: dict[str, Any] = {}
            if kind in ("single", "multi"):
                k = 1 if kind == "single" else rng.randrange(1, 3)
                selected = rng.sample(field["choice_ids"], k=k)
                value: Any = [int(c) for c in selected]
                display = ", ".join(choices[c]["label"] for c in selected)
            elif kind == "number":
                value = rng.randrange(1, 8)
                display = str(value)
            elif kind == "date":
                value = (self.today - timedelta(days=rng.randrange(30, 2000))).isoformat()
                display = value
            elif kind == "currency":
                value = float(rng.randrange(400, 1200, 50))
                extra["currency"] = rng.choice(("USD", "EUR"))
                display = f"{value:.2f} {extra['currency']}"
            else:
                value = f"CC-{rng.randrange(100, 120)}"
                display = value
            created, updated = self.stamps.pair()
            cfv = self.data.add(
                "custom_field_values",
                {
                    "custom_field_id": field["id"],
                    "custom_field_name": field["name"],
                    "type": kind,
                    "value": value,
                    "display_value": display,
                    "can_edit": rng.random() < 0.8,
                    "account_id": int(user["account_id"]),
                    "subject_type": "User",
                    "subject_id": int(user["id"]),
                    "subject_ref": {"key": "users", "id": user["id"]},
                    "setter_id": "1",
                    "selected_choice_ids": selected,
                    "external_reference_ids": [],
                    "created_at": created,
                    "updated_at": updated,
                    **extra,
                },
            )
            user["custom_field_value_ids"].append(cfv["id"])

    def _references(self, user: dict[str, Any]) -> None:
        rng = self.rng
        uid = user["id"]
        user["external_reference_ids"] = []
        systems: list[tuple[str, str, str, str, str | None]] = []
        if rng.random() < 8 / 9:
            systems.append(("hris", "Employee", str(100_000 + int(uid)), "successful", None))
        if rng.random() < 0.2:
            status = rng.choice(("pending", "failed"))
            message = "Duplicate contact" if status == "failed" else None
            systems.append(("crm", "Contact", str(500_000 + int(uid)), status, message))
        for service, model, ref, status, message in systems:
            created, updated = self.stamps.pair()
            record = self.data.add(
                "external_references",
                {
                    "service_name": service,
                    "service_model": model,
                    "service_model_ref": ref,
                    "status": status,
                    "external_link": f"https://{service}.example.com/{model.lower()}s/{ref}",
                    "external_message": message,
                    "external_status": rng.choice(("active", "inactive")),
                    "locked": rng.random() < 0.1,
                    "last_synced_at": updated,
                    "subject_type": "User",
                    "subject_id": int(uid),
                    "subject_ref": {"key": "users", "id": uid},
                    "created_at": created,
                    "updated_at": updated,
                },
            )
            user["external_reference_ids"].append(record["id"])

    def _work_samples(self, user: dict[str, Any]) -> None:
        rng = self.rng
        user["work_sample_ids"] = []
        for _ in range(rng.randrange(0, 3)):
            attached = rng.random() < 0.5
            sample = self.data.add(
                "work_samples",
                {
                    "title": f"Case study {rng.randrange(1, 999)}",
                    "description": "A project we are proud of.",
                    "website_url": None if attached else "https://portfolio.example.com/",
                    "trapped_website_url": None if attached else "https://portfolio.example.com/",
                    "attachment_id": str(rng.randrange(1000, 9999)) if attached else None,
                    "attachment_filename": "case-study.pdf" if attached else None,
                },
            )
            user["work_sample_ids"].append(sample["id"])

    def _workweeks(self, user: dict[str, Any]) -> None:
        rng = self.rng
        first = self.today - timedelta(days=720)
        start = (
            first
            - timedelta(days=(first.weekday() + 1) % 7)
            + timedelta(weeks=rng.randrange(0, 100))
        )
        previous: dict[str, Any] | None = None
        workweeks = self.data.records["workweeks"]
        for _ in range(rng.randrange(1, 3)):
            created, updated = self.stamps.pair()
            workweek_id = rng.choice(self.workweek_ids)
            if previous is not None:
                previous["end_date"] = (start - timedelta(days=1)).isoformat()
            previous = wm = self.data.add(
                "workweek_memberships",
                {
                    "start_date": start.isoformat(),
                    "end_date": None,
                    "user_id": int(user["id"]),
                    "workweek_id": workweek_id,
                    "created_at": created,
                    "updated_at": updated,
                },
            )
            workweeks[workweek_id]["workweek_membership_ids"].append(wm["id"])
            start += timedelta(weeks=rng.randrange(4, 40))

    def _places(self, user: dict[str, Any], n: int) -> None:
        rng = self.rng
        if n % 10 != 9:
            geography = {"PT": "Portugal", "US": "United States", "JP": "Japan", "KE": "Kenya"}
            self.data.add(
                "organization_memberships",
                {
                    "member_id": user["id"],
                    "member_type": "User",
                    "geography_id": self.orgs[geography.get(user["country"], "Canada")],
                    "department_id": self.orgs[
                        rng.choice(("Engineering", "Design", "Sales", "Finance"))
                    ],
                    "primary": True,
                },
            )
        calendar = _CALENDAR_OF.get(user["country"])
        if calendar is not None and rng.random() < 0.8:
            self.data.add(
                "holiday_calendar_memberships",
                {
                    "holiday_calendar_id": calendar,
                    "user_id": user["id"],
                    "start_date": date(self.today.year - 1, 1, 1).isoformat(),
                    # One in five ends with next year (taken from the id: no draw, so that
                    # the rest of the generated data stays as it was).
                    "end_date": f"{self.today.year + 1}-12-31"
                    if int(user["id"]) % 5 == 0
                    else None,
                    "in_use": True,
                },
            )
