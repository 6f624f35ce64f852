"""The Kantata record types that the Users and Workweek Memberships endpoints return or sideload.

Field names are the JSON keys. Every field defaults to absent (never carried), which reads as
`FieldNotLoadedError`, as distinct from `None` (the server sent `null`). Ids are `str` even
where the API sends ints. Relations follow section 8 of the API notes: `field=` names the
JSON key holding the ids on this side, `inverse_of=` the relation on the other side from
which the graph derives this one when only the other side's ids arrived.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import attrs

from ._base import ABSENT, Many, Model, One, model, wire_inverses

__all__ = [
    "AccountMembership",
    "CustomFieldValue",
    "ExternalReference",
    "Role",
    "Skill",
    "SkillMembership",
    "User",
    "WorkSample",
    "Workweek",
    "WorkweekMembership",
]

_define = attrs.define(eq=False, kw_only=True, slots=False, repr=False)


@model("users")
@_define
class User(Model):
    """A person on Kantata (`GET /users`, `/users/me`, `/users/{id}`)."""

    id: str
    full_name: str | None = ABSENT
    email_address: str | None = ABSENT
    headline: str | None = ABSENT
    photo_path: str | None = ABSENT
    # optional_fields=
    abbreviated_timezone: str | None = ABSENT
    bio: str | None = ABSENT
    city: str | None = ABSENT
    state: str | None = ABSENT
    country: str | None = ABSENT
    website: str | None = ABSENT
    classification: str | None = ABSENT
    last_site_activity: datetime | None = ABSENT
    # seen on live responses though not in the spec
    account_id: str | None = ABSENT
    disabled: bool | None = ABSENT
    # association ids, present when the association is included
    account_membership_id: str | None = ABSENT
    role_id: str | None = ABSENT
    manager_id: str | None = ABSENT
    skill_ids: list[str] | None = ABSENT
    skill_membership_ids: list[str] | None = ABSENT
    custom_field_value_ids: list[str] | None = ABSENT
    external_reference_ids: list[str] | None = ABSENT
    work_sample_ids: list[str] | None = ABSENT

    account_membership = One["AccountMembership"](
        "account_memberships",
        field="account_membership_id",
        include="account_membership",
        inverse_of="user",
    )
    role = One["Role"]("roles", field="role_id", include="role")
    manager = One["User"]("users", field="manager_id", include="manager")
    skills = Many["Skill"]("skills", field="skill_ids", include="skills")
    skill_memberships = Many["SkillMembership"](
        "skill_memberships",
        field="skill_membership_ids",
        include="skill_memberships",
        inverse_of="user",
    )
    custom_field_values = Many["CustomFieldValue"](
        "custom_field_values",
        field="custom_field_value_ids",
        include="custom_field_values",
        inverse_of="subject",
    )
    external_references = Many["ExternalReference"](
        "external_references",
        field="external_reference_ids",
        include="external_references",
        inverse_of="subject",
    )
    work_samples = Many["WorkSample"](
        "work_samples", field="work_sample_ids", include="work_samples"
    )
    workweek_memberships = Many["WorkweekMembership"]("workweek_memberships", inverse_of="user")


@model("account_memberships")
@_define
class AccountMembership(Model):
    """A user's membership of an account: permissions, rates, manager, default role."""

    id: str
    user_id: str | None = ABSENT
    permission: str | None = ABSENT
    is_administrator: bool | None = ABSENT
    is_owner: bool | None = ABSENT
    is_project_lead: bool | None = ABSENT
    is_punch_clock_user: bool | None = ABSENT
    is_backup_approver: bool | None = ABSENT
    can_create_workspace: bool | None = ABSENT
    can_view_reports: bool | None = ABSENT
    collaborator_only_license: bool | None = ABSENT
    default_read_only: bool | None = ABSENT
    manager_can_approve: bool | None = ABSENT
    manager_can_edit_skills: bool | None = ABSENT
    non_participant: bool | None = ABSENT
    should_show_alert_on_timesheet_submission: bool | None = ABSENT
    bill_rate_in_cents: int | None = ABSENT
    cost_rate_in_cents: int | None = ABSENT
    billability_target: float | None = ABSENT
    created_at: datetime | None = ABSENT
    updated_at: datetime | None = ABSENT
    disabled_at: datetime | None = ABSENT
    default_role_id: str | None = ABSENT
    manager_id: str | None = ABSENT
    effective_workweek_id: str | None = ABSENT
    skill_membership_ids: list[str] | None = ABSENT
    managee_ids: list[str] | None = ABSENT
    possible_manager_ids: list[str] | None = ABSENT
    possible_managee_ids: list[str] | None = ABSENT
    cost_rate_ids: list[str] | None = ABSENT
    backup_approver_association_ids: list[str] | None = ABSENT
    future_billable_utilization_ids: list[str] | None = ABSENT

    user = One["User"]("users", field="user_id", include="user")
    skill_memberships = Many["SkillMembership"](
        "skill_memberships", field="skill_membership_ids", include="skill_memberships"
    )
    default_role = One["Role"]("roles", field="default_role_id", include="default_role")
    manager = One["User"]("users", field="manager_id", include="manager")
    managees = Many["User"]("users", field="managee_ids", include="managees")
    possible_managers = Many["User"](
        "users", field="possible_manager_ids", include="possible_managers"
    )
    possible_managees = Many["User"](
        "users", field="possible_managee_ids", include="possible_managees"
    )
    effective_workweek = One["Workweek"](
        "workweeks", field="effective_workweek_id", include="effective_workweek"
    )


@model("skill_memberships")
@_define
class SkillMembership(Model):
    """A user's level in one skill."""

    id: str
    level: int | None = ABSENT
    max_level: int | None = ABSENT
    cached_skill_name: str | None = ABSENT
    created_at: datetime | None = ABSENT
    updated_at: datetime | None = ABSENT
    skill_id: str | None = ABSENT
    user_id: str | None = ABSENT
    creator_id: str | None = ABSENT

    skill = One["Skill"]("skills", field="skill_id", include="skill")
    user = One["User"]("users", field="user_id", include="user")
    creator = One["User"]("users", field="creator_id", include="creator")


@model("skills")
@_define
class Skill(Model):
    """A skill on the account, with its description and category."""

    id: str
    name: str | None = ABSENT
    description: str | None = ABSENT
    max_level: int | str | None = ABSENT
    skill_category_id: str | None = ABSENT
    external_reference_ids: list[str] | None = ABSENT
    created_at: datetime | None = ABSENT
    updated_at: datetime | None = ABSENT

    external_references = Many["ExternalReference"](
        "external_references",
        field="external_reference_ids",
        include="external_references",
        inverse_of="subject",
    )
    skill_memberships = Many["SkillMembership"]("skill_memberships", inverse_of="skill", weak=True)


@model("roles")
@_define
class Role(Model):
    """A role a user can hold (a user's `role`, an account membership's `default_role`)."""

    id: str
    name: str | None = ABSENT
    created_at: datetime | None = ABSENT
    updated_at: datetime | None = ABSENT
    deleted_at: datetime | None = ABSENT
    external_reference_ids: list[str] | None = ABSENT

    external_references = Many["ExternalReference"](
        "external_references",
        field="external_reference_ids",
        include="external_references",
        inverse_of="subject",
    )


@model("workweeks")
@_define
class Workweek(Model):
    """A weekly schedule: minutes of work per weekday, effective from `start_date`."""

    id: str
    default: bool | None = ABSENT
    start_date: date | None = ABSENT
    end_date: date | None = ABSENT
    sunday_minutes: int | None = ABSENT
    monday_minutes: int | None = ABSENT
    tuesday_minutes: int | None = ABSENT
    wednesday_minutes: int | None = ABSENT
    thursday_minutes: int | None = ABSENT
    friday_minutes: int | None = ABSENT
    saturday_minutes: int | None = ABSENT
    total_minutes: int | None = ABSENT
    created_at: datetime | None = ABSENT
    updated_at: datetime | None = ABSENT
    workweek_membership_ids: list[str] | None = ABSENT

    workweek_memberships = Many["WorkweekMembership"](
        "workweek_memberships",
        field="workweek_membership_ids",
        include="workweek_memberships",
        inverse_of="workweek",
        weak=True,
    )


@model("workweek_memberships")
@_define
class WorkweekMembership(Model):
    """Ties a user to a workweek from `start_date` (to `end_date`).

    The API reads the minutes through `include=["workweek"]`; the `*_minutes` fields here are
    present only where a response carries them.
    """

    id: str
    start_date: date | None = ABSENT
    end_date: date | None = ABSENT
    created_at: datetime | None = ABSENT
    updated_at: datetime | None = ABSENT
    user_id: str | None = ABSENT
    workweek_id: str | None = ABSENT
    sunday_minutes: int | None = ABSENT
    monday_minutes: int | None = ABSENT
    tuesday_minutes: int | None = ABSENT
    wednesday_minutes: int | None = ABSENT
    thursday_minutes: int | None = ABSENT
    friday_minutes: int | None = ABSENT
    saturday_minutes: int | None = ABSENT
    __kantata_write_only__ = frozenset(
        f"{day}_minutes"
        for day in ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
    )

    user = One["User"]("users", field="user_id", include="user")
    workweek = One["Workweek"]("workweeks", field="workweek_id", include="workweek")


@model("external_references")
@_define
class ExternalReference(Model):
    """Links a Kantata record (its `subject`) to an object in another system."""

    id: str
    service_name: str | None = ABSENT
    service_model: str | None = ABSENT
    service_model_ref: str | None = ABSENT
    status: str | None = ABSENT
    external_link: str | None = ABSENT
    external_message: str | None = ABSENT
    external_status: str | None = ABSENT
    locked: bool | None = ABSENT
    last_synced_at: datetime | None = ABSENT
    subject_type: str | None = ABSENT
    subject_id: str | None = ABSENT
    subject_ref: dict[str, str] | None = ABSENT
    created_at: datetime | None = ABSENT
    updated_at: datetime | None = ABSENT

    subject = One[Model](None, field="subject_ref", include="subject")


@model("custom_field_values")
@_define
class CustomFieldValue(Model):
    """The value of one custom field on one record (its `subject`)."""

    id: str
    type: str | None = ABSENT
    value: Any = ABSENT
    display_value: str | None = ABSENT
    custom_field_name: str | None = ABSENT
    can_edit: bool | None = ABSENT
    account_id: str | None = ABSENT
    custom_field_id: str | None = ABSENT
    setter_id: str | None = ABSENT
    subject_type: str | None = ABSENT
    subject_id: str | None = ABSENT
    subject_ref: dict[str, str] | None = ABSENT
    selected_choice_ids: list[str] | None = ABSENT
    external_reference_ids: list[str] | None = ABSENT
    created_at: datetime | None = ABSENT
    updated_at: datetime | None = ABSENT

    subject = One[Model](None, field="subject_ref", include="subject")
    setter = One["User"]("users", field="setter_id", include="setter")
    external_references = Many["ExternalReference"](
        "external_references", field="external_reference_ids", include="external_references"
    )


@model("work_samples")
@_define
class WorkSample(Model):
    """A portfolio item on a user's profile."""

    id: str
    title: str | None = ABSENT
    description: str | None = ABSENT
    website_url: str | None = ABSENT
    trapped_website_url: str | None = ABSENT
    attachment_id: str | None = ABSENT
    attachment_filename: str | None = ABSENT


wire_inverses()
