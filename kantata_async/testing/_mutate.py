"""The records `Dataset`'s change helpers create: a new user, a workweek, a membership.

Plain functions on a dataset; `Dataset` exposes them as methods and documents them. They
keep the links the generator makes (a user's account membership, the workweek's list of
memberships, a user's timeline of memberships) so that what they add renders like the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from ._generate import DAYS

if TYPE_CHECKING:
    from ._dataset import Dataset

__all__ = [
    "DEFAULT_PHOTO_PATH",
    "add_user",
    "add_workweek",
    "add_workweek_membership",
    "memberships_of",
    "relink",
]

DEFAULT_PHOTO_PATH = "/images/avatars/default.png"


def add_user(
    data: Dataset,
    full_name: str | None,
    *,
    email_address: str | None,
    account_id: str,
    disabled: bool,
    manager_id: str | None,
    workspace_ids: Sequence[str] | None,
    **fields: Any,
) -> dict[str, Any]:
    """A new user with an account membership, taking part in `workspace_ids`."""
    uid = data.new_id("users")
    now = data.stamp()
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
        "contact_ids": [],
        "skill_membership_ids": [],
        "skill_ids": [],
        "custom_field_value_ids": [],
        "external_reference_ids": [],
        "work_sample_ids": [],
    }
    user.update(fields)
    data.add("users", user)
    membership = data.add(
        "account_memberships",
        {
            "user_id": uid,
            "permission": "collaborator",
            "is_administrator": False,
            "is_owner": False,
            "is_project_lead": False,
            "can_view_reports": False,
            "can_create_workspace": False,
            "can_log_in": not user["disabled"],
            "collaborator_only_license": False,
            "default_read_only": False,
            "is_punch_clock_user": False,
            "manager_can_approve": False,
            "manager_can_edit_skills": False,
            "should_show_alert_on_timesheet_submission": False,
            "bill_rate_in_cents": 0,
            "cost_rate_in_cents": 0,
            "billability_target": 0,
            "default_role_id": user["role_id"],
            "manager_id": user["manager_id"],
            "effective_workweek_id": data.default_workweek_id(),
            "disabled_at": now if user["disabled"] else None,
            "created_at": now,
            "updated_at": now,
            "skill_membership_ids": [],
            "cost_rate_ids": [],
            "future_billable_utilization_ids": [],
        },
    )
    user["account_membership_id"] = membership["id"]
    if workspace_ids is None:
        workspace_ids = [
            w["id"]
            for w in data.records.get("workspaces", {}).values()
            if w.get("account_id") == account_id
        ][:1]
    for workspace_id in workspace_ids:
        data.add(
            "participations",
            {
                "workspace_id": str(workspace_id),
                "user_id": uid,
                "role": "maven",
                "access_level": "project",
                "show_as_read_only": False,
                "is_team_lead": False,
                "created_at": now,
                "updated_at": now,
            },
        )
    return user


def memberships_of(data: Dataset, user_id: str) -> list[dict[str, Any]]:
    """A user's workweek memberships, by `start_date` then id."""
    uid = int(user_id)
    mine = [
        wm for wm in data.records.get("workweek_memberships", {}).values() if wm["user_id"] == uid
    ]
    mine.sort(key=lambda wm: (wm["start_date"], int(wm["id"])))
    return mine


def relink(data: Dataset, user_id: str) -> None:
    """Each of the user's memberships ends the day before the next one starts; the last one
    is open. A membership whose `end_date` changes gets a new `updated_at`."""
    mine = memberships_of(data, user_id)
    # zip() of the list with itself shifted: a user with no membership left has no pairs.
    for wm, following in zip(mine, [*mine[1:], None], strict=False):
        end = None
        if following is not None:
            next_start = date.fromisoformat(following["start_date"])
            end = (next_start - timedelta(days=1)).isoformat()
        if wm.get("end_date") != end:
            wm["end_date"] = end
            wm["updated_at"] = data.stamp()


def add_workweek_membership(
    data: Dataset, user_id: str, start_date: date, workweek_id: str | None
) -> dict[str, Any]:
    """A membership of the user to `workweek_id` from `start_date`; the timeline re-linked."""
    now = data.stamp()
    wm = data.add(
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
    workweek = data.get("workweeks", str(workweek_id))
    if workweek is not None:
        workweek["workweek_membership_ids"].append(wm["id"])
    data.relink_workweek_memberships(str(user_id))
    return wm


def add_workweek(data: Dataset, start_date: date, minutes: dict[str, int]) -> dict[str, Any]:
    """A non-default workweek with these minutes per day (missing days are 0)."""
    per_day = {f"{day}_minutes": int(minutes.get(day, 0)) for day in DAYS}
    now = data.stamp()
    return data.add(
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
