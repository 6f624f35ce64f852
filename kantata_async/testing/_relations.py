"""Who is connected to whom in the dataset: visibility, projects, management, contacts.

Pure lookups over a `Context` (memoized per dataset revision in its `Index`), shared by the
users' filters, the account memberships' computed fields and the base scopes.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._index import Context, Index
from ._schema import Record

__all__ = [
    "active_members",
    "backup_approvals",
    "managees_of",
    "participations_of",
    "people_in",
    "possible_managees",
    "possible_managers",
    "project_visible",
    "scope_users",
]

# Permission levels from which a member may manage others (Kantata's project lead and up).
_MANAGING = frozenset({"project_lead", "administrator"})


def participations_of(index: Index, user_id: str) -> list[Record]:
    """The user's participations in projects."""
    return index.by("participations", "user_id").get(str(user_id), [])


def people_in(index: Index, workspace_id: str) -> list[Record]:
    """The participations of a project."""
    return index.by("participations", "workspace_id").get(str(workspace_id), [])


def project_visible(ctx: Context) -> frozenset[str]:
    """The users `GET /users` shows by default, as the Users docs describe it.

    An account administrator sees everyone taking part in a project of the account, and
    everyone taking part in a project with a member of the account; anyone else sees the
    people of the projects they take part in.
    """

    def build() -> frozenset[str]:
        users = ctx.dataset.records.get("users", {})
        workspaces = ctx.dataset.records.get("workspaces", {})
        by_workspace = ctx.index.by("participations", "workspace_id")
        if ctx.i_am_administrator():
            account = ctx.my_account()
            chosen: Iterable[str] = [
                w
                for w, people in by_workspace.items()
                if (workspaces.get(w) or {}).get("account_id") == account
                or any((users.get(p["user_id"]) or {}).get("account_id") == account for p in people)
            ]
        else:
            chosen = {p["workspace_id"] for p in participations_of(ctx.index, ctx.me)}
        return frozenset(p["user_id"] for w in chosen for p in by_workspace.get(w, []))

    return ctx.index.memo(f"project_visible:{ctx.me}", build)


def scope_users(ctx: Context) -> frozenset[str]:
    """Every user the requester may see at all: their account, their projects' people (as
    `project_visible`) and their contacts."""

    def build() -> frozenset[str]:
        account = ctx.my_account()
        me = ctx.record("users", ctx.me) or {}
        mine = {
            i
            for i, u in ctx.dataset.records.get("users", {}).items()
            if u.get("account_id") == account
        }
        return frozenset(mine | project_visible(ctx) | set(me.get("contact_ids") or ()))

    return ctx.index.memo(f"scope_users:{ctx.me}", build)


def managees_of(index: Index, user_id: str) -> list[str]:
    """The ids of the users whose manager is `user_id`."""
    return [u["id"] for u in index.by("users", "manager_id").get(str(user_id), [])]


def _chain(index: Index, user_id: str, step: str) -> set[str]:
    """Everyone above (`step="up"`) or below (`"down"`) a user in the management tree."""
    users = index.dataset.records.get("users", {})
    seen: set[str] = set()
    todo = [str(user_id)]
    while todo:
        current = todo.pop()
        if step == "up":
            manager = (users.get(current) or {}).get("manager_id")
            nxt = [] if manager is None else [str(manager)]
        else:
            nxt = managees_of(index, current)
        for other in nxt:
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


def active_members(index: Index, account: object) -> list[Record]:
    """The users of `account` who are not disabled."""
    return [
        u for u in index.by("users", "account_id").get(str(account), []) if not u.get("disabled")
    ]


def possible_managers(index: Index, user_id: str) -> list[str]:
    """Who could manage the user: active members of the account at project lead or above,
    other than the user and the people below them (no cycles)."""
    users = index.dataset.records.get("users", {})
    user = users.get(str(user_id))
    if user is None:
        return []
    memberships = index.dataset.records.get("account_memberships", {})
    below = _chain(index, str(user_id), "down") | {str(user_id)}
    return [
        u["id"]
        for u in active_members(index, user.get("account_id"))
        if u["id"] not in below
        and (memberships.get(str(u.get("account_membership_id"))) or {}).get("permission")
        in _MANAGING
    ]


def possible_managees(index: Index, user_id: str) -> list[str]:
    """Who the user could take on: active members of the account without a manager, other
    than the user and the people above them (no cycles)."""
    users = index.dataset.records.get("users", {})
    user = users.get(str(user_id))
    if user is None:
        return []
    above = _chain(index, str(user_id), "up") | {str(user_id)}
    return [
        u["id"]
        for u in active_members(index, user.get("account_id"))
        if u["id"] not in above and u.get("manager_id") is None
    ]


def backup_approvals(index: Index, user_id: str) -> tuple[list[str], bool]:
    """`(ids of the associations where the user is the approver, whether the user stands in
    as someone's backup approver)`."""
    key = "backup_approver_associations"
    mine = [a["id"] for a in index.by(key, "approver_id").get(str(user_id), [])]
    return mine, str(user_id) in index.by(key, "backup_approver_id")
