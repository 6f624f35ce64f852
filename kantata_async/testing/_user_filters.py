"""How the fake applies each documented filter of `GET /users`, and why where it had to guess.

`USER_FILTERS` maps every filter the facts document for the list operation to a behaviour and
a note (None: refused). `_collections.py` checks it against the facts, so a filter cannot be
forgotten. Boolean filters that "only include" someone restrict when true and do nothing when
false, as Brainstem passes false to a filter lambda that then keeps the scope.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ._custom_values import by_custom_value, has_value_for
from ._filters import (
    as_bool,
    as_id,
    as_ids,
    as_text,
    equals,
    external_reference_behaviour,
    has_none,
    in_ids,
    not_in_ids,
    timestamp,
    when_true,
)
from ._index import Context
from ._project_filters import (
    account_or_workspace,
    assignable_to_resource,
    in_workspace,
    not_in_workspace,
    potential_followers,
    provider_leads,
    story_people,
    with_role,
    without_timesheet,
)
from ._relations import possible_managees, possible_managers, project_visible
from ._schema import Behaviour, FilterValue, Predicate, Record
from ._wire import ApiError

__all__ = ["USER_FILTERS", "default_visibility", "search_users", "with_skills"]

MAX_EMAILS = 200


def _membership(ctx: Context, user: Record) -> Record:
    found = ctx.record("account_memberships", user.get("account_membership_id"))
    return found or {}


def _users_where(
    ids: Callable[[Context], set[str] | frozenset[str]],
) -> Callable[[Context], Predicate]:
    def build(ctx: Context) -> Predicate:
        wanted = ids(ctx)
        return lambda user: user["id"] in wanted

    return build


def _account_id(ctx: Context, name: str, value: FilterValue) -> Predicate:
    if as_bool("on_my_account", ctx.params.get("on_my_account") or False):
        raise ApiError.validation((name, "account_id is not available with on_my_account"))
    account = as_id(name, value)
    return lambda user: str(user.get("account_id")) == account


def _belonging_to_orgs(ctx: Context, name: str, value: FilterValue) -> Predicate:
    text = as_text(name, value)
    parts = text.split(";")
    if len(parts) > 2:
        raise ApiError.validation((name, f"{name} must look like 'geo_id,geo_id;dept_id,dept_id'"))
    geos = as_ids(name, parts[0]) if parts[0].strip() else set()
    depts = as_ids(name, parts[1]) if len(parts) > 1 and parts[1].strip() else set()
    orgs = ctx.dataset.records.get("organizations", {})
    memberships = ctx.index.by("organization_memberships", "member_id")

    def within(org_id: object, wanted: set[str]) -> bool:
        org = orgs.get(str(org_id))
        return org is not None and (
            org["id"] in wanted or not wanted.isdisjoint(org["ancestor_ids"])
        )

    def check(user: Record) -> bool:
        return any(
            (not geos or within(m.get("geography_id"), geos))
            and (not depts or within(m.get("department_id"), depts))
            for m in memberships.get(user["id"], [])
        )

    return check


def _by_email_addresses(ctx: Context, name: str, value: FilterValue) -> Predicate:
    parts = value if isinstance(value, list) else as_text(name, value).split(",")
    emails = {str(p).strip() for p in parts if str(p).strip()}
    if len(emails) > MAX_EMAILS:
        raise ApiError.validation((name, f"{name} takes at most {MAX_EMAILS} addresses"))
    return lambda user: user.get("email_address") in emails


def _text_match(*fields: str) -> Behaviour:
    def behaviour(ctx: Context, name: str, value: FilterValue) -> Predicate:
        needle = as_text(name, value).strip().casefold()
        return lambda user: any(needle in str(user.get(f) or "").casefold() for f in fields)

    return behaviour


def _name_or_role(ctx: Context, name: str, value: FilterValue) -> Predicate:
    needle = as_text(name, value).strip().casefold()
    roles = ctx.dataset.records.get("roles", {})

    def check(user: Record) -> bool:
        role = roles.get(str(user.get("role_id"))) or {}
        return (
            needle in (user.get("full_name") or "").casefold()
            or needle in str(role.get("name") or "").casefold()
        )

    return check


def _not_on_calendars(ctx: Context, name: str, value: FilterValue) -> Predicate:
    calendars = as_ids(name, value)
    on = ctx.index.by("holiday_calendar_memberships", "user_id")
    return lambda user: all(
        str(m["holiday_calendar_id"]) not in calendars for m in on.get(user["id"], [])
    )


def with_skills(ctx: Context, name: str, value: FilterValue) -> Predicate:
    wanted = _skill_levels(name, value)
    operation = str(wanted.pop("operation", "and")).lower()
    if operation not in ("and", "or"):
        raise ApiError.validation((name, f"{name}: operation must be 'and' or 'or'"))
    levels = {str(skill): {int(level) for level in allowed} for skill, allowed in wanted.items()}
    memberships = ctx.dataset.records.get("skill_memberships", {})

    def check(user: Record) -> bool:
        held = {
            str(sm["skill_id"]): sm.get("level")
            for sm_id in user.get("skill_membership_ids") or ()
            if (sm := memberships.get(sm_id)) is not None
        }
        hits = (s in held and (not allowed or held[s] in allowed) for s, allowed in levels.items())
        return all(hits) if operation == "and" else any(hits)

    return check


def _skill_levels(name: str, value: FilterValue) -> dict[str, Any]:
    """`{'skill_id':[level,level],'operation':'or'}` (quotes single or double) or a Rails
    hash (`with_skills[12][]=3`); 422 when it does not read."""
    if isinstance(value, dict):
        parsed: Any = value
    else:
        try:
            parsed = json.loads(as_text(name, value).replace("'", '"'))
        except ValueError:
            parsed = None
    problem = (name, f"{name} must look like {{'skill_id':[level,level],'operation':'and'}}")
    if not isinstance(parsed, dict) or not parsed:
        raise ApiError.validation(problem)
    for skill, allowed in parsed.items():
        if skill == "operation":
            continue
        items = allowed if isinstance(allowed, list) else [allowed]
        if not str(skill).isdigit() or not all(str(level).strip().isdigit() for level in items):
            raise ApiError.validation(problem)
        parsed[skill] = items
    return dict(parsed)


def search_users(ctx: Context, name: str, value: FilterValue) -> Predicate | None:
    """`search`: the text in the full name or the email address, any case; the order asked
    for is kept (Kantata orders by relevance)."""
    return _text_match("full_name", "email_address")(ctx, name, value)


def default_visibility(ctx: Context) -> Predicate:
    """Without `on_my_account` (or another filter choosing whom to see), `GET /users` shows
    only the people of the requester's projects, as the Users docs say."""
    visible = project_visible(ctx)
    return lambda user: user["id"] in visible


def _contacts(*, other_account: bool) -> Callable[[Context], Predicate]:
    def build(ctx: Context) -> Predicate:
        me = ctx.record("users", ctx.me) or {}
        contacts = set(me.get("contact_ids") or ())
        account = ctx.my_account()
        return lambda user: (
            user["id"] in contacts and (not other_account or user.get("account_id") != account)
        )

    return build


def _managers(ctx: Context) -> Predicate:
    bosses = set(ctx.index.by("users", "manager_id"))
    return lambda user: user["id"] in bosses


def _on_my_account(ctx: Context) -> Predicate:
    account = ctx.my_account()
    return lambda user: user.get("account_id") == account


def _show_disabled(ctx: Context, name: str, value: FilterValue) -> Predicate | None:
    return None if as_bool(name, value) else (lambda user: not user.get("disabled"))


_MEMBER_FLAG = "the account membership's {0} is true"

USER_FILTERS: dict[str, tuple[Behaviour | None, str]] = {
    "account_id": (_account_id, "users of that account; 422 together with on_my_account"),
    "account_role_ids": (in_ids("role_id"), "the user's account role (role_id) is listed"),
    "all_contacts": (
        when_true(_contacts(other_account=False)),
        "the requester's contacts, replacing the project rule",
    ),
    "assignable_to_resource": (
        assignable_to_resource,
        "the providers of the resource's project (a resource is filled from its project's team)",
    ),
    "belonging_to_orgs": (
        _belonging_to_orgs,
        "a geography and a department listed (or an organization above them); "
        "an empty side matches any",
    ),
    "by_custom_choice_value": (by_custom_value("choice"), "see _custom_values.py"),
    "by_custom_currency_value": (by_custom_value("currency"), "see _custom_values.py"),
    "by_custom_date_value": (by_custom_value("date"), "see _custom_values.py; both ends included"),
    "by_custom_number_value": (by_custom_value("number"), "see _custom_values.py"),
    "by_custom_text_value": (by_custom_value("text"), "see _custom_values.py; contains, any case"),
    "by_email_address": (equals("email_address"), "exact"),
    "by_email_addresses": (
        _by_email_addresses,
        "exact; comma list, a Rails array or a JSON body array; at most 200",
    ),
    "by_full_name": (_text_match("full_name"), "contains, any case"),
    "by_full_name_or_account_role": (
        _name_or_role,
        "the full name or the account role's name contains it, any case",
    ),
    "can_be_approver_in_workspace": (
        in_workspace(lambda p: p["role"] == "maven" and p["access_level"] == "financial"),
        "providers with financial access in the project",
    ),
    "can_view_reports": (
        when_true(lambda ctx: lambda u: bool(_membership(ctx, u).get("can_view_reports"))),
        _MEMBER_FLAG.format("can_view_reports"),
    ),
    "clients_only": (when_true(with_role("buyer")), "a participation as client (role buyer)"),
    "consultants_only": (
        when_true(with_role("maven")),
        "a participation as provider (role maven)",
    ),
    "contacts_on_different_account": (
        when_true(_contacts(other_account=True)),
        "the requester's contacts on other accounts",
    ),
    "created_after": (timestamp("created_at", after=True), "created_at, strictly after"),
    "created_before": (timestamp("created_at", after=False), "created_at, strictly before"),
    **{
        name: (
            external_reference_behaviour(name),
            "on the user's external references; several external_reference_* "
            "filters must match one reference together",
        )
        for name in (
            "external_reference_external_message",
            "external_reference_external_status",
            "external_reference_service_model",
            "external_reference_service_model_ref",
            "external_reference_service_model_refs",
            "external_reference_service_name",
            "external_reference_status",
            "has_external_references",
            "without_external_reference_service_name",
        )
    },
    "has_value_for_custom_field_ids": (has_value_for, "a value for at least one of the fields"),
    "is_project_lead": (
        when_true(lambda ctx: lambda u: bool(_membership(ctx, u).get("is_project_lead"))),
        _MEMBER_FLAG.format("is_project_lead"),
    ),
    "managers": (when_true(_managers), "manages at least one user"),
    "matching": (None, "documented without a description; what it matches is not known"),
    "not_assigned_to": (
        story_people("assignee_ids", keep=False),
        "not among the task's assignees",
    ),
    "not_following": (story_people("follower_ids", keep=False), "not among the task's followers"),
    "not_on_calendars": (_not_on_calendars, "no holiday calendar membership in those calendars"),
    "not_participant_in": (not_in_workspace, "no participation in the project"),
    "on_my_account": (
        when_true(_on_my_account),
        "the requester's account, replacing the project rule",
    ),
    "on_my_account_or_participant_in_workspace": (
        account_or_workspace,
        "the requester's account and the project's people, replacing the project rule",
    ),
    "only_possible_managees": (
        when_true(_users_where(lambda ctx: set(possible_managees(ctx.index, ctx.me)))),
        "who the requester could take on as managees (see _relations.py)",
    ),
    "only_possible_managers": (
        when_true(_users_where(lambda ctx: set(possible_managers(ctx.index, ctx.me)))),
        "who could manage the requester (see _relations.py)",
    ),
    "participant_in": (in_workspace(), "takes part in the project"),
    "potential_followers_for_story": (
        potential_followers,
        "people of the task's project not already following it",
    ),
    "provider_leads_on_account_projects": (
        when_true(provider_leads),
        "a team-lead provider participation in a project of the requester's account",
    ),
    "search": (search_users, "the full name or email contains it, any case; not with only="),
    "show_disabled": (_show_disabled, "default false: disabled users are hidden"),
    "show_users_in_insights_groups": (
        when_true(
            _users_where(
                lambda ctx: set(ctx.index.by("insights_access_group_memberships", "user_id"))
            )
        ),
        "an insights access group membership",
    ),
    "updated_after": (
        timestamp("updated_at", after=True),
        "updated_at (kept, not sent), strictly after",
    ),
    "updated_before": (
        timestamp("updated_at", after=False),
        "updated_at (kept, not sent), strictly before",
    ),
    "with_created_estimates": (
        when_true(_users_where(lambda ctx: set(ctx.index.by("estimates", "creator_id")))),
        "the creator of at least one estimate",
    ),
    "with_organizations": (
        None,
        "documented by the API description only, without a description; its meaning is not known",
    ),
    "with_skills": (
        with_skills,
        "each skill at one of the levels (any level for []); 'and' (default) or 'or'",
    ),
    "with_users": (in_ids("id"), "the listed ids"),
    "without_skills": (has_none("skill_ids"), "none of the listed skills"),
    "without_timesheet_submission": (
        without_timesheet,
        "no submission in the project whose period overlaps start..end",
    ),
    "without_users": (not_in_ids("id"), "not the listed ids"),
    "write_access_in": (
        in_workspace(lambda p: not p["show_as_read_only"]),
        "a participation in the project that is not read-only",
    ),
}
