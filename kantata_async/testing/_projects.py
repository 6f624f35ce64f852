"""Generation of projects: who takes part and how, and what happens in them.

Projects (workspaces) of both accounts, participation (provider or client, access level,
team lead), tasks with assignees and followers, resources, timesheet submissions and
estimates. One account member in twelve takes part in no project, so that `GET /users`
without `on_my_account` hides someone; half of the other account's people work on a project
of account 1, so that its administrator sees some of them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from ._calendar import Stamps, sunday_on_or_before
from ._people import LAST_NAMES, SKILL_WORDS

if TYPE_CHECKING:
    from ._dataset import Dataset

__all__ = ["add_projects"]


def add_projects(data: Dataset, rng: random.Random, stamps: Stamps, today: date) -> None:
    """Projects, who takes part and how, and what happens in them."""
    users = data.records.get("users", {})
    mine = [u for u in users.values() if u["account_id"] == "1"]
    theirs = [u for u in users.values() if u["account_id"] != "1"]
    count = max(3, math.ceil(len(users) / 6))
    workspaces = []
    for n in range(count):
        created, updated = stamps.pair()
        # One project in ten belongs to the other account (when it has people).
        account = "2" if theirs and n % 10 == 9 else "1"
        workspaces.append(
            data.add(
                "workspaces",
                {
                    "title": f"{rng.choice(SKILL_WORDS)} {rng.choice(LAST_NAMES)} {n + 1}",
                    "account_id": account,
                    "created_at": created,
                    "updated_at": updated,
                },
            )
        )
    on_mine = [w for w in workspaces if w["account_id"] == "1"]
    on_theirs = [w for w in workspaces if w["account_id"] != "1"] or on_mine
    for position, user in enumerate(mine):
        # One account member in twelve is in no project (the owner always is).
        if position % 12 == 11 and user["id"] != "1":
            continue
        chosen = rng.sample(on_mine, k=min(len(on_mine), rng.randrange(1, 4)))
        if user["id"] == "1":
            chosen = on_mine[: max(1, len(on_mine) // 2)]
        for workspace in chosen:
            _participate(data, rng, stamps, workspace, user)
    for position, user in enumerate(theirs):
        _participate(data, rng, stamps, rng.choice(on_theirs), user)
        if position % 2 == 0:
            # Half of them also work on a project of account 1: its people can see them.
            _participate(data, rng, stamps, rng.choice(on_mine), user)
    _project_work(data, rng, stamps, workspaces, today)


def _participate(
    data: Dataset,
    rng: random.Random,
    stamps: Stamps,
    workspace: dict[str, Any],
    user: dict[str, Any],
) -> None:
    role = "buyer" if rng.random() < 0.15 else "maven"
    access = rng.choice(("financial", "project", "project", "read_only"))
    created, updated = stamps.pair()
    data.add(
        "participations",
        {
            "workspace_id": workspace["id"],
            "user_id": user["id"],
            "role": role,
            "access_level": access,
            "show_as_read_only": access == "read_only",
            "is_team_lead": role == "maven" and rng.random() < 0.12,
            "created_at": created,
            "updated_at": updated,
        },
    )


def _project_work(
    data: Dataset,
    rng: random.Random,
    stamps: Stamps,
    workspaces: Sequence[dict[str, Any]],
    today: date,
) -> None:
    """Tasks with assignees and followers, resources, timesheets and estimates."""
    by_workspace: dict[str, list[dict[str, Any]]] = {}
    for participation in data.records.get("participations", {}).values():
        by_workspace.setdefault(participation["workspace_id"], []).append(participation)
    role_ids = [r for r, role in data.records["roles"].items() if role["deleted_at"] is None]
    last_sunday = sunday_on_or_before(today)
    for workspace in workspaces:
        people = by_workspace.get(workspace["id"], [])
        providers = [p["user_id"] for p in people if p["role"] == "maven"]
        everyone = [p["user_id"] for p in people]
        for task in range(2):
            created, updated = stamps.pair()
            data.add(
                "stories",
                {
                    "workspace_id": workspace["id"],
                    "title": f"Task {task + 1} of {workspace['title']}",
                    "assignee_ids": rng.sample(providers, k=min(len(providers), 2)),
                    "follower_ids": rng.sample(everyone, k=min(len(everyone), 2)),
                    "created_at": created,
                    "updated_at": updated,
                },
            )
        data.add(
            "workspace_resources",
            {
                "workspace_id": workspace["id"],
                "role_id": rng.choice(role_ids),
                "user_id": providers[0] if providers else None,
            },
        )
        for user_id in providers:
            if rng.random() < 0.3:
                start = last_sunday - timedelta(weeks=rng.randrange(1, 9))
                data.add(
                    "timesheet_submissions",
                    {
                        "workspace_id": workspace["id"],
                        "user_id": user_id,
                        "start_date": start.isoformat(),
                        "end_date": (start + timedelta(days=6)).isoformat(),
                        "status": rng.choice(("approved", "pending")),
                        "created_at": stamps.recent(60),
                    },
                )
        if providers and rng.random() < 0.3:
            data.add(
                "estimates",
                {"workspace_id": workspace["id"], "creator_id": rng.choice(providers)},
            )
