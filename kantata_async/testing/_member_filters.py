"""Behaviours for the collections around people: memberships, skills, roles, choices.

Filters, orders, scopes and computed fields that read another record than the one filtered
(the membership's user, the user's skills, ...), for `_collections.py`. A record "of a
user" carries the user's id in `user_field`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._filters import as_bool, as_id, as_ids, as_text
from ._index import Context
from ._relations import (
    backup_approvals,
    managees_of,
    participations_of,
    possible_managees,
    possible_managers,
    scope_users,
)
from ._schema import Computed, FilterValue, Predicate, Record, SortKey

__all__ = [
    "MEMBERSHIP_FIELDS",
    "contains",
    "deleted",
    "disabled_at",
    "in_my_account",
    "own",
    "seen_users",
    "skills_held",
    "user_active",
    "user_contains",
    "user_order",
]


def _user(ctx: Context, record: Record, user_field: str) -> Record:
    return ctx.record("users", record.get(user_field)) or {}


def _user_text(ctx: Context, record: Record, user_field: str, field: str) -> str:
    return str(_user(ctx, record, user_field).get(field) or "").casefold()


def user_contains(field: str, *, user_field: str = "user_id") -> Any:
    """The record's user's `field` contains the text, any case."""

    def behaviour(ctx: Context, name: str, value: FilterValue) -> Predicate:
        needle = as_text(name, value).strip().casefold()
        return lambda record: (
            needle in str(_user(ctx, record, user_field).get(field) or "").casefold()
        )

    return behaviour


def contains(field: str) -> Any:
    """The record's own `field` contains the text, any case."""

    def behaviour(ctx: Context, name: str, value: FilterValue) -> Predicate:
        needle = as_text(name, value).strip().casefold()
        return lambda record: needle in str(record.get(field) or "").casefold()

    return behaviour


def user_active(ctx: Context, *, user_field: str = "user_id") -> Predicate:
    """Records whose user is not disabled (for `when_true`)."""
    return lambda record: not _user(ctx, record, user_field).get("disabled")


def own(ctx: Context, *, user_field: str = "user_id") -> Predicate:
    """The requester's own records (for `when_true`)."""
    return lambda record: str(record.get(user_field)) == ctx.me


def disabled_at(*, present: bool) -> Callable[[Context], Predicate]:
    """Account memberships disabled (`present`) or not (for `when_true`)."""
    return lambda ctx: lambda membership: (membership.get("disabled_at") is not None) == present


def deleted(ctx: Context, name: str, value: FilterValue) -> Predicate | None:
    """`only_active` on roles: true (the default) hides deleted roles."""
    return (lambda role: role.get("deleted_at") is None) if as_bool(name, value) else None


def skills_held(*, by_listed: bool) -> Any:
    """Skills held by any of the listed users (`by_listed`), or not held by the one user."""

    def behaviour(ctx: Context, name: str, value: FilterValue) -> Predicate:
        owners = as_ids(name, value) if by_listed else {as_id(name, value)}
        held = {s for u in owners for s in (ctx.record("users", u) or {}).get("skill_ids") or ()}
        return lambda skill: (skill["id"] in held) == by_listed

    return behaviour


def user_order(field: str, *, user_field: str = "user_id") -> SortKey:
    """An order on the record's user's `field`, any case."""
    return lambda ctx: (
        lambda record: str(_user(ctx, record, user_field).get(field) or "").casefold()
    )


def in_my_account(ctx: Context, *, user_field: str = "user_id") -> Predicate:
    """Records whose user is on the requester's account (a base scope)."""
    account = ctx.my_account()
    return lambda record: _user(ctx, record, user_field).get("account_id") == account


def seen_users(ctx: Context, *, user_field: str = "user_id") -> Predicate:
    """Records of the users the requester may see at all (a base scope)."""
    allowed = scope_users(ctx)
    return lambda record: str(record.get(user_field)) in allowed


def seen_members(ctx: Context) -> Predicate:
    """Records of the account memberships of the users the requester may see (a scope)."""
    allowed = scope_users(ctx)
    memberships = ctx.dataset.records.get("account_memberships", {})

    def check(record: Record) -> bool:
        membership = memberships.get(str(record.get("account_membership_id"))) or {}
        return str(membership.get("user_id")) in allowed

    return check


def _of(find: Callable[[Any, str], Any]) -> Computed:
    return lambda ctx, membership: find(ctx.index, str(membership.get("user_id")))


# Account membership fields Kantata computes from other records.
MEMBERSHIP_FIELDS: dict[str, Computed] = {
    "managee_ids": _of(managees_of),
    "possible_manager_ids": _of(possible_managers),
    "possible_managee_ids": _of(possible_managees),
    "non_participant": _of(lambda index, user: not participations_of(index, user)),
    "is_backup_approver": _of(lambda index, user: backup_approvals(index, user)[1]),
    "backup_approver_association_ids": _of(lambda index, user: backup_approvals(index, user)[0]),
}
