"""`client.workweek_memberships`: the generated resource, plus the rules the docs give.

- a `start_date` must be a Sunday, minutes are 0 to 1440 (checked before sending);
- a user's memberships form a timeline (each ends the day before the next starts), so a
  write that creates, moves, switches or deletes one changes its neighbours: those the graph
  holds are listed again after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from .._generated import workweek_memberships as generated
from .._generated.workweek_memberships import WorkweekMembership

__all__ = ["WorkweekMemberships"]

DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MINUTES = tuple(f"{day}_minutes" for day in DAYS)
_MINUTES_IN_A_DAY = 24 * 60
# Writes after which the user's other memberships may have moved.
_MOVES = frozenset({"create", "standardize_to_default", "delete"})


def _check_sunday(value: object, name: str = "start_date") -> None:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValueError(f"{name} must be a datetime.date, got {value!r}")
    if value.weekday() != 6:
        raise ValueError(f"{name} must be a Sunday (Kantata says so); {value} is a {value:%A}")


def _check_minutes(fields: Mapping[str, Any]) -> None:
    for name in MINUTES:
        value = fields.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an int, got {value!r}")
        if not 0 <= value <= _MINUTES_IN_A_DAY:
            raise ValueError(f"{name} must be from 0 to {_MINUTES_IN_A_DAY}, got {value}")


class WorkweekMemberships(generated.WorkweekMemberships):
    """The Workweek Memberships endpoints. Every call merges its answer into `client.graph`.

    A membership ties a user to a workweek from `start_date`; read the minutes through
    `include=["workweek"]` (`membership.workweek.monday_minutes`). An update brings back the
    relations the held membership has loaded (its `workweek` holds the minutes).

        async for wm in client.workweek_memberships.list(user_ids=["12"], include=["workweek"]):
            print(wm.start_date, wm.workweek.total_minutes)
    """

    def _check_write(self, operation: str, fields: Mapping[str, Any]) -> None:
        if any(name == "user_ids" for name, _ in self._api.options.query):
            # Checked before the write, not when its refresh is sent after it.
            raise ValueError(
                "extra_query cannot set 'user_ids' on a workweek membership write: the write "
                "lists the user's memberships again with it"
            )
        if fields.get("start_date") is not None:
            _check_sunday(fields["start_date"])
        _check_minutes(fields)

    async def _after_write(
        self, operation: str, record: WorkweekMembership | None, fields: Mapping[str, Any]
    ) -> None:
        if record is not None and (operation in _MOVES or fields.get("start_date") is not None):
            await self._refresh_timeline(record.__dict__.get("user_id"), record.__dict__["id"])

    async def _refresh_timeline(self, user_id: object, written: str) -> None:
        """Fetch again the user's memberships the graph holds, after a write moved them.

        When the graph holds other memberships of the user, every membership of the user is
        listed again (with the relations the held ones have loaded), which also marks
        `user.workweek_memberships` complete; a held one the server no longer lists was
        removed by the write and is forgotten.
        """
        if user_id is None:
            return
        uid = str(user_id)
        graph = self._api.graph
        held = [
            m
            for m in graph.objects(WorkweekMembership)
            if str(m.__dict__.get("user_id")) == uid and m.__dict__["id"] != written
        ]
        if not held:
            return
        include = [
            name
            for rel in WorkweekMembership.__kantata_relations__.values()
            if (name := rel.include) in self.includes and any(rel.name in m._links for m in held)
        ]
        listed = {m.__dict__["id"] async for m in self.list(user_ids=[uid], include=include)}
        for membership in held:
            if membership.__dict__["id"] not in listed:
                graph.forget(WorkweekMembership, membership.__dict__["id"])
