"""What both example apps answer, whatever the web framework: settings and the two views.

`fastapi_app.py` and `aiohttp_app.py` differ only in how they hold the one `KantataClient`
and route requests to these functions.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

from kantata_async import KantataClient, User, WorkweekMembership, to_dict

DEFAULT_BASE_URL = "https://api.mavenlink.com/api/v1/"
DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")


def settings(token: str | None, base_url: str | None) -> tuple[str, str]:
    """The token and API root: the arguments, else `KANTATA_TOKEN` / `KANTATA_BASE_URL`."""
    token = token or os.environ.get("KANTATA_TOKEN")
    if not token:
        raise RuntimeError("set KANTATA_TOKEN (or pass token=) to a Kantata OAuth token")
    return token, base_url or os.environ.get("KANTATA_BASE_URL") or DEFAULT_BASE_URL


def iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def user_json(user: User) -> dict[str, Any]:
    """`GET /me`: every loaded field of the user, and their role's name."""
    role = user.role
    return {"user": to_dict(user), "role_name": None if role is None else role.name}


def membership_json(membership: WorkweekMembership) -> dict[str, Any]:
    """One membership with the minutes of its workweek (None when it has no workweek)."""
    week = membership.workweek
    return {
        "id": membership.id,
        "start_date": iso(membership.start_date),
        "end_date": iso(membership.end_date),
        "workweek_id": membership.workweek_id,
        "default_workweek": None if week is None else week.default,
        "minutes": None if week is None else {d: getattr(week, f"{d}_minutes") for d in DAYS},
        "total_minutes": None if week is None else week.total_minutes,
    }


async def me_json(client: KantataClient) -> dict[str, Any]:
    """The token's user, with the name of their role."""
    return user_json(await client.users.me(include=["role"]))


async def workweeks_json(client: KantataClient, user_id: str) -> dict[str, Any]:
    """The user's workweek memberships, oldest first, each with its workweek's minutes.

    Raises `NotFoundError` for a user the token cannot see.
    """
    user = await client.users.get(user_id)
    memberships = client.workweek_memberships.list(user_ids=[user_id], include=["workweek"])
    return {
        "user": {"id": user.id, "full_name": user.full_name},
        "workweek_memberships": [membership_json(wm) async for wm in memberships],
    }
