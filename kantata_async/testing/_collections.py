"""The collections the fake serves: one declaration each, from the facts and `declare()`.

This is the one table the fake reads for what a collection sends, includes, filters, orders
and routes (see `_declare.py`). It is independent of the SDK's own tables on purpose: the fake
checks the SDK, so the two must not share a mistake. To serve another collection, generate
its records (`_generate.py`) and add a `declare(...)` here; generic filters, orders and the
list and show routes come with it, and every other documented filter is refused until given
a behaviour.
"""

from __future__ import annotations

from ._catalogue import CATALOGUE, SIDELOADED
from ._declare import by_field, declare, finish
from ._filters import as_bool, in_ids, not_in_ids, when_true
from ._index import Context
from ._member_filters import (
    MEMBERSHIP_FIELDS,
    contains,
    deleted,
    disabled_at,
    in_my_account,
    own,
    seen_members,
    seen_users,
    skills_held,
    user_active,
    user_contains,
    user_order,
)
from ._project_filters import in_workspace
from ._relations import scope_users
from ._schema import Collection, DefaultFilter, Predicate
from ._user_filters import USER_FILTERS, default_visibility, with_skills

__all__ = ["COLLECTIONS", "VISIBILITY_CHOOSERS"]

# Filters that choose whom `GET /users` shows, replacing the default project rule.
VISIBILITY_CHOOSERS = frozenset(
    {
        "on_my_account",
        "all_contacts",
        "contacts_on_different_account",
        "on_my_account_or_participant_in_workspace",
    }
)


def _users_scope(ctx: Context) -> Predicate:
    allowed = scope_users(ctx)
    return lambda user: user["id"] in allowed


def _last_site_activity(ctx: Context) -> bool:
    # Documented as available with on_my_account only, and to administrators only.
    on_my_account = as_bool("on_my_account", ctx.params.get("on_my_account") or False)
    return on_my_account and ctx.i_am_administrator()


USERS = declare(
    "users",
    tag="users",
    schema="User",
    # Sent live though the schema does not list them (the API notes, section 1).
    extra_fields=("account_id", "disabled"),
    internal_fields=("created_at", "updated_at", "contact_ids"),
    filters=USER_FILTERS,
    without_only=("search",),
    defaults=(
        DefaultFilter(
            "project participation",
            default_visibility,
            VISIBILITY_CHOOSERS,
            "without a filter choosing whom to see, only the people of your projects",
        ),
    ),
    scope=_users_scope,
    orders={"alphabetical": by_field("full_name", fold=True)},
    handlers={
        ("GET", "me"): "me",
        ("PUT", "{id}"): "update_user",
        ("GET", "{id}/capacity"): "capacity",
        ("POST", "{id}/profile_photo"): "set_photo",
        ("DELETE", "{id}/profile_photo"): "reset_photo",
    },
    field_rules={"last_site_activity": _last_site_activity},
)

WORKWEEK_MEMBERSHIPS = declare(
    "workweek_memberships",
    tag="workweek-memberships",
    schema="WorkweekMembership",
    native_ids=("user_id",),
    filters={
        "participants_for_workspace_id": (
            in_workspace(user_field="user_id"),
            "memberships of the people taking part in the project",
        ),
        "participating_with": (when_true(own), "the requester's own memberships"),
    },
    # Memberships "that belong to the account of the user making the request".
    scope=in_my_account,
    handlers={
        ("POST", ""): "create_membership",
        ("PUT", "standardize_to_default"): "standardize",
        ("PUT", "{id}"): "update_membership",
        ("DELETE", "{id}"): "delete_membership",
    },
)

ACCOUNT_MEMBERSHIPS = declare(
    "account_memberships",
    tag="account-memberships",
    schema="AccountMembership",
    native_ids=("user_id", "default_role_id"),
    computed=MEMBERSHIP_FIELDS,
    filters={
        "by_full_name": (user_contains("full_name"), "the user's full name contains it, any case"),
        "only_active": (when_true(disabled_at(present=False)), "not disabled"),
        "only_inactive": (when_true(disabled_at(present=True)), "disabled"),
        "with_skills": (with_skills, "as on GET /users"),
        "search": (None, "a full-text search whose fields are not documented"),
    },
    orders={
        "bill_rate": by_field("bill_rate_in_cents"),
        "cost_rate": by_field("cost_rate_in_cents"),
        "full_name": user_order("full_name"),
        "role": lambda ctx: (
            lambda am: (ctx.record("roles", am.get("default_role_id")) or {}).get("name", "")
        ),
    },
    # The memberships of the users the requester may see (nested includes reach them).
    scope=seen_users,
)

SKILL_MEMBERSHIPS = declare(
    "skill_memberships",
    tag="skill-memberships",
    schema="SkillMembership",
    native_ids=("user_id", "skill_id"),
    filters={
        "active_account_members_only": (
            when_true(user_active),
            "default false: with true, members who are not disabled",
        ),
        "by_skill_name": (contains("cached_skill_name"), "the skill's name contains it, any case"),
        "by_user_name": (user_contains("full_name"), "the user's full name contains it, any case"),
        "workspace_id": (
            in_workspace(user_field="user_id"),
            "skill memberships of the people taking part in the project",
        ),
    },
    orders={
        "full_name": user_order("full_name"),
        "skill_name": by_field("cached_skill_name", fold=True),
    },
    # Only the people the requester may see, as for their account memberships.
    scope=seen_users,
)

SKILLS = declare(
    "skills",
    tag="skills",
    schema="Skill",
    filters={
        "except": (not_in_ids("id"), "not the listed skills"),
        "for_users": (skills_held(by_listed=True), "skills held by any of the listed users"),
        "unassigned_skills_for_user": (
            skills_held(by_listed=False),
            "skills the user does not have",
        ),
    },
)

ROLES = declare(
    "roles",
    tag="roles",
    schema="Role",
    filters={"only_active": (deleted, "default true: roles not deleted")},
)

WORKWEEKS = declare("workweeks", tag="workweeks", schema="Workweek")

CUSTOM_FIELD_VALUES = declare(
    "custom_field_values",
    tag="custom-field-values",
    schema="CustomFieldValue",
    internal_fields=("currency",),
)

EXTERNAL_REFERENCES = declare(
    "external_references", tag="external-references", schema="ExternalReference"
)

# Kantata documents no route for work samples: they arrive as an include of users only.
WORK_SAMPLES = declare("work_samples", tag="users", schema="WorkSample")

CUSTOM_FIELDS = declare(
    "custom_fields", tag="custom-fields", schema="CustomField", internal_fields=("subject_type",)
)

CUSTOM_FIELD_CHOICES = declare(
    "custom_field_choices",
    tag="custom-field-choices",
    schema="CustomFieldChoice",
    native_ids=("custom_field_id",),
    filters={
        "for_choice_ids": (in_ids("id"), "the listed choices"),
        "for_custom_fields": (in_ids("custom_field_id"), "choices of the listed custom fields"),
    },
)

SKILL_CATEGORIES = declare(
    "skill_categories",
    tag="skill-categories",
    schema="SkillCategory",
    computed={
        "skill_ids": lambda ctx, category: [
            s["id"] for s in ctx.index.by("skills", "skill_category_id").get(category["id"], [])
        ]
    },
)

# Rates and targets of the account memberships the requester may see.
COST_RATES = declare(
    "cost_rates",
    tag="cost-rates",
    schema="CostRate",
    native_ids=("account_membership_id",),
    scope=seen_members,
)

BILLABLE_UTILIZATIONS = declare(
    "billable_utilizations",
    tag="billable-utilizations",
    schema="BillableUtilization",
    scope=seen_members,
)

BACKUP_APPROVER_ASSOCIATIONS = declare(
    "backup_approver_associations",
    tag="backup-approver-associations",
    schema="BackupApproverAssociation",
)

COLLECTIONS: dict[str, Collection] = finish(
    [
        USERS,
        WORKWEEK_MEMBERSHIPS,
        ACCOUNT_MEMBERSHIPS,
        SKILL_MEMBERSHIPS,
        SKILLS,
        ROLES,
        WORKWEEKS,
        CUSTOM_FIELD_VALUES,
        EXTERNAL_REFERENCES,
        WORK_SAMPLES,
        CUSTOM_FIELDS,
        CUSTOM_FIELD_CHOICES,
        SKILL_CATEGORIES,
        COST_RATES,
        BILLABLE_UTILIZATIONS,
        BACKUP_APPROVER_ASSOCIATIONS,
        *CATALOGUE,
        *SIDELOADED,
    ]
)
