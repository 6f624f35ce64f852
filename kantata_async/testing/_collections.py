"""The collections the fake serves: one declaration each, from the facts and `declare()`.

This is the one table the fake reads for what a collection sends, includes, filters, orders
and routes (see `_declare.py`). It is independent of the SDK's own tables on purpose: the fake
checks the SDK, so the two must not share a mistake. To serve another collection, generate
its records (`_generate.py`) and add a `declare(...)` here; generic filters, orders and the
list and show routes come with it, and every other documented filter is refused until given
a behaviour.
"""

from __future__ import annotations

from typing import Any

from ._declare import by_field, declare, finish
from ._filters import as_bool, as_id, as_ids, as_text
from ._index import Context
from ._relations import (
    backup_approvals,
    managees_of,
    participations_of,
    people_in,
    possible_managees,
    possible_managers,
    scope_users,
)
from ._schema import Collection, DefaultFilter, FilterValue, Predicate, Record
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


def _on_my_account(ctx: Context, record: Record, user_field: str = "user_id") -> bool:
    user = ctx.record("users", record.get(user_field))
    return user is not None and user.get("account_id") == ctx.my_account()


def _users_scope(ctx: Context) -> Predicate:
    allowed = scope_users(ctx)
    return lambda user: user["id"] in allowed


def _last_site_activity(ctx: Context) -> bool:
    # Documented as available with on_my_account only, and to administrators only.
    return as_bool("on_my_account", ctx.params.get("on_my_account") or False) and (
        ctx.i_am_administrator()
    )


def _user_text(field: str) -> Any:
    def behaviour(ctx: Context, name: str, value: FilterValue) -> Predicate:
        needle = as_text(name, value).strip().casefold()

        def check(record: Record) -> bool:
            user = ctx.record("users", record.get("user_id")) or {}
            return needle in str(user.get(field) or "").casefold()

        return check

    return behaviour


def _when(test: Any) -> Any:
    def behaviour(ctx: Context, name: str, value: FilterValue) -> Predicate | None:
        return test(ctx) if as_bool(name, value) else None

    return behaviour


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
            lambda ctx, name, value: (lambda people: lambda wm: str(wm["user_id"]) in people)(
                {p["user_id"] for p in people_in(ctx.index, as_id(name, value))}
            ),
            "memberships of the people taking part in the project",
        ),
        "participating_with": (
            _when(lambda ctx: lambda wm: str(wm["user_id"]) == ctx.me),
            "the requester's own memberships",
        ),
    },
    # Memberships "that belong to the account of the user making the request".
    scope=lambda ctx: lambda wm: _on_my_account(ctx, wm),
    handlers={
        ("POST", ""): "create_membership",
        ("PUT", "standardize_to_default"): "standardize",
        ("PUT", "{id}"): "update_membership",
        ("DELETE", "{id}"): "delete_membership",
    },
)


def _membership_user(ctx: Context, membership: Record) -> str:
    return str(membership.get("user_id"))


ACCOUNT_MEMBERSHIPS = declare(
    "account_memberships",
    tag="account-memberships",
    schema="AccountMembership",
    native_ids=("user_id", "default_role_id"),
    computed={
        "managee_ids": lambda ctx, am: managees_of(ctx.index, _membership_user(ctx, am)),
        "possible_manager_ids": lambda ctx, am: possible_managers(
            ctx.index, _membership_user(ctx, am)
        ),
        "possible_managee_ids": lambda ctx, am: possible_managees(
            ctx.index, _membership_user(ctx, am)
        ),
        "non_participant": lambda ctx, am: (
            not participations_of(ctx.index, _membership_user(ctx, am))
        ),
        "is_backup_approver": lambda ctx, am: backup_approvals(
            ctx.index, _membership_user(ctx, am)
        )[1],
        "backup_approver_association_ids": lambda ctx, am: backup_approvals(
            ctx.index, _membership_user(ctx, am)
        )[0],
    },
    filters={
        "by_full_name": (_user_text("full_name"), "the user's full name contains it, any case"),
        "only_active": (
            _when(lambda ctx: lambda am: am.get("disabled_at") is None),
            "not disabled",
        ),
        "only_inactive": (
            _when(lambda ctx: lambda am: am.get("disabled_at") is not None),
            "disabled",
        ),
        "with_skills": (with_skills, "as on GET /users"),
        "search": (None, "a full-text search whose fields are not documented"),
    },
    orders={
        "bill_rate": by_field("bill_rate_in_cents"),
        "cost_rate": by_field("cost_rate_in_cents"),
        "full_name": lambda ctx: (
            lambda am: (
                (ctx.record("users", am.get("user_id")) or {}).get("full_name", "").casefold()
            )
        ),
        "role": lambda ctx: (
            lambda am: (ctx.record("roles", am.get("default_role_id")) or {}).get("name", "")
        ),
    },
    # The memberships of the users the requester may see (nested includes reach them).
    scope=lambda ctx: (lambda allowed: lambda am: str(am.get("user_id")) in allowed)(
        scope_users(ctx)
    ),
)

SKILL_MEMBERSHIPS = declare(
    "skill_memberships",
    tag="skill-memberships",
    schema="SkillMembership",
    native_ids=("user_id", "skill_id"),
    filters={
        "active_account_members_only": (
            _when(
                lambda ctx: (
                    lambda sm: not (ctx.record("users", sm.get("user_id")) or {}).get("disabled")
                )
            ),
            "default false: with true, members who are not disabled",
        ),
        "by_skill_name": (
            lambda ctx, name, value: (
                lambda text: lambda sm: text in (sm.get("cached_skill_name") or "").casefold()
            )(str(value).strip().casefold()),
            "the skill's name contains it, any case",
        ),
        "by_user_name": (_user_text("full_name"), "the user's full name contains it, any case"),
        "workspace_id": (
            lambda ctx, name, value: (lambda people: lambda sm: str(sm.get("user_id")) in people)(
                {p["user_id"] for p in people_in(ctx.index, as_id(name, value))}
            ),
            "skill memberships of the people taking part in the project",
        ),
    },
    orders={
        "full_name": lambda ctx: (
            lambda sm: (
                (ctx.record("users", sm.get("user_id")) or {}).get("full_name", "").casefold()
            )
        ),
        "skill_name": by_field("cached_skill_name", fold=True),
    },
)

SKILLS = declare(
    "skills",
    tag="skills",
    schema="Skill",
    filters={
        "except": (
            lambda ctx, name, value: (lambda ids: lambda skill: skill["id"] not in ids)(
                as_ids(name, value)
            ),
            "not the listed skills",
        ),
        "for_users": (
            lambda ctx, name, value: (lambda held: lambda skill: skill["id"] in held)(
                {
                    s
                    for u in as_ids(name, value)
                    for s in (ctx.record("users", u) or {}).get("skill_ids") or ()
                }
            ),
            "skills held by any of the listed users",
        ),
        "unassigned_skills_for_user": (
            lambda ctx, name, value: (lambda held: lambda skill: skill["id"] not in held)(
                set((ctx.record("users", as_id(name, value)) or {}).get("skill_ids") or ())
            ),
            "skills the user does not have",
        ),
    },
)


def _only_active(ctx: Context, name: str, value: FilterValue) -> Predicate | None:
    return (lambda role: role.get("deleted_at") is None) if as_bool(name, value) else None


ROLES = declare(
    "roles",
    tag="roles",
    schema="Role",
    filters={"only_active": (_only_active, "default true: roles not deleted")},
)

WORKWEEKS = declare(
    "workweeks",
    tag="workweeks",
    schema="Workweek",
    handlers={},
)

CUSTOM_FIELD_VALUES = declare(
    "custom_field_values",
    tag="custom-field-values",
    schema="CustomFieldValue",
    internal_fields=("currency",),
)

EXTERNAL_REFERENCES = declare(
    "external_references", tag="external-references", schema="ExternalReference"
)

# Kantata documents no route for these: they arrive as includes only.
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
        "for_choice_ids": (
            lambda ctx, name, value: (lambda ids: lambda c: c["id"] in ids)(as_ids(name, value)),
            "the listed choices",
        ),
        "for_custom_fields": (
            lambda ctx, name, value: (lambda ids: lambda c: str(c["custom_field_id"]) in ids)(
                as_ids(name, value)
            ),
            "choices of the listed custom fields",
        ),
    },
)
SKILL_CATEGORIES = declare(
    "skill_categories",
    tag="skill-categories",
    schema="SkillCategory",
    computed={
        "skill_ids": lambda ctx, cat: [
            s["id"] for s in ctx.index.by("skills", "skill_category_id").get(cat["id"], [])
        ]
    },
)
COST_RATES = declare(
    "cost_rates", tag="cost-rates", schema="CostRate", native_ids=("account_membership_id",)
)
BILLABLE_UTILIZATIONS = declare(
    "billable_utilizations", tag="billable-utilizations", schema="BillableUtilization"
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
    ]
)
