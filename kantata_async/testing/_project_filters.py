"""Filter behaviours about projects: who takes part, how, and what they did there.

Kantata calls a project a workspace; taking part is a participation (`role` "maven" for a
provider, "buyer" for a client; `access_level`, `is_team_lead`, `show_as_read_only`). Tasks
(stories) have assignees and followers; timesheets are submitted per project. Used by the
users' filters and by any collection whose records belong to a user (`user_field`).
"""

from __future__ import annotations

from collections.abc import Callable

from ._filters import as_date, as_id, as_text
from ._index import Context
from ._relations import participations_of, people_in
from ._schema import Behaviour, FilterValue, Predicate, Record

__all__ = [
    "account_or_workspace",
    "assignable_to_resource",
    "in_workspace",
    "not_in_workspace",
    "potential_followers",
    "provider_leads",
    "story_people",
    "with_role",
    "without_timesheet",
]


def _people(ctx: Context, workspace: str, test: Callable[[Record], bool]) -> set[str]:
    return {p["user_id"] for p in people_in(ctx.index, workspace) if test(p)}


def in_workspace(
    test: Callable[[Record], bool] = lambda p: True, *, user_field: str = "id"
) -> Behaviour:
    """Records whose user (`user_field`) takes part in the given project, in a way that
    passes `test`."""

    def behaviour(ctx: Context, name: str, value: FilterValue) -> Predicate:
        people = _people(ctx, as_id(name, value), test)
        return lambda record: str(record.get(user_field)) in people

    return behaviour


def not_in_workspace(ctx: Context, name: str, value: FilterValue) -> Predicate:
    """Users who do not take part in the given project."""
    people = _people(ctx, as_id(name, value), lambda p: True)
    return lambda user: user["id"] not in people


def assignable_to_resource(ctx: Context, name: str, value: FilterValue) -> Predicate:
    """Who can fill the project resource: the providers of its project."""
    resource = ctx.record("workspace_resources", as_id(name, value)) or {}
    people = _people(ctx, str(resource.get("workspace_id")), lambda p: p["role"] == "maven")
    return lambda user: user["id"] in people


def with_role(role: str) -> Callable[[Context], Predicate]:
    """Users taking part in at least one project as `role` (for `when_true`)."""

    def build(ctx: Context) -> Predicate:
        return lambda user: any(p["role"] == role for p in participations_of(ctx.index, user["id"]))

    return build


def story_people(attr: str, *, keep: bool) -> Behaviour:
    """Users in (`keep`) or not in the `attr` list of the task with the given id."""

    def behaviour(ctx: Context, name: str, value: FilterValue) -> Predicate:
        story = ctx.record("stories", as_id(name, value)) or {}
        listed = set(story.get(attr) or ())
        return lambda user: (user["id"] in listed) == keep

    return behaviour


def potential_followers(ctx: Context, name: str, value: FilterValue) -> Predicate:
    """The people of the task's project who do not follow it yet."""
    story = ctx.record("stories", as_id(name, value))
    if story is None:
        return lambda user: False
    people = _people(ctx, story["workspace_id"], lambda p: True) - set(story["follower_ids"])
    return lambda user: user["id"] in people


def account_or_workspace(ctx: Context, name: str, value: FilterValue) -> Predicate:
    """The requester's account, and the people of the given project."""
    account = ctx.my_account()
    people = _people(ctx, as_id(name, value), lambda p: True)
    return lambda user: user.get("account_id") == account or user["id"] in people


def provider_leads(ctx: Context) -> Predicate:
    """Team-lead providers of a project of the requester's account (for `when_true`)."""
    account = ctx.my_account()
    workspaces = ctx.dataset.records.get("workspaces", {})
    return lambda user: any(
        p["role"] == "maven"
        and p["is_team_lead"]
        and (workspaces.get(p["workspace_id"]) or {}).get("account_id") == account
        for p in participations_of(ctx.index, user["id"])
    )


def without_timesheet(ctx: Context, name: str, value: FilterValue) -> Predicate:
    """`workspace_id:start_date:end_date`: users with no timesheet submitted in the project
    for a period overlapping those dates."""
    workspace, _, dates = as_text(name, value).partition(":")
    start_text, _, end_text = dates.partition(":")
    workspace_id = as_id(name, workspace)
    start, end = as_date(name, start_text).isoformat(), as_date(name, end_text).isoformat()
    submitted = {
        s["user_id"]
        for s in ctx.index.by("timesheet_submissions", "workspace_id").get(workspace_id, [])
        if s["start_date"] <= end and s["end_date"] >= start
    }
    return lambda user: user["id"] not in submitted
