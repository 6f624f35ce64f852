"""`client.workweek_memberships`: list, create, get, update, delete, switch to default."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from .._pagination import ListRequest
from .._query import Kind
from ..models import WorkweekMembership
from ._base import Resource

__all__ = ["WorkweekMemberships"]

LIST_FILTERS: dict[str, Kind] = {
    "created_after": Kind.DATETIME,
    "created_before": Kind.DATETIME,
    "effective_date": Kind.DATE,
    "only": Kind.IDS,
    "participants_for_workspace_id": Kind.ID,
    "participating_with": Kind.BOOL,
    "updated_after": Kind.DATETIME,
    "updated_before": Kind.DATETIME,
    "user_ids": Kind.IDS,
}
DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MINUTES = tuple(f"{day}_minutes" for day in DAYS)
_MINUTES_IN_A_DAY = 24 * 60


def _check_sunday(value: date, name: str = "start_date") -> str:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValueError(f"{name} must be a datetime.date, got {value!r}")
    if value.weekday() != 6:
        raise ValueError(f"{name} must be a Sunday (Kantata says so); {value} is a {value:%A}")
    return value.isoformat()


def _check_minutes(minutes: dict[str, int | None]) -> dict[str, int]:
    out = {}
    for name, value in minutes.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an int, got {value!r}")
        if not 0 <= value <= _MINUTES_IN_A_DAY:
            raise ValueError(f"{name} must be from 0 to {_MINUTES_IN_A_DAY}, got {value}")
        out[name] = value
    return out


class WorkweekMemberships(Resource[WorkweekMembership]):
    """The Workweek Memberships endpoints. Every call merges its answer into `client.graph`.

    A membership ties a user to a workweek from `start_date`; read the minutes through
    `include=["workweek"]` (`membership.workweek.monday_minutes`).
    """

    path = "workweek_memberships"
    singular = "workweek_membership"
    includes = frozenset({"user", "workweek"})
    orders = ("start_date:asc", "start_date:desc")

    def list(
        self,
        *,
        include: Sequence[str] | None = None,
        order: str | None = None,
        per_page: int | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        effective_date: date | None = None,
        only: Sequence[str | int] | None = None,
        participants_for_workspace_id: str | int | None = None,
        participating_with: bool | None = None,
        updated_after: datetime | None = None,
        updated_before: datetime | None = None,
        user_ids: Sequence[str | int] | None = None,
    ) -> ListRequest[WorkweekMembership]:
        """`GET /workweek_memberships`: the account's memberships, by `start_date`.

        async for wm in client.workweek_memberships.list(user_ids=["12"], include=["workweek"]):
            print(wm.start_date, wm.workweek.total_minutes)
        """
        filters = {k: v for k, v in locals().items() if k in LIST_FILTERS}
        return self._list_request(LIST_FILTERS, filters, include, None, order, per_page)

    async def get(
        self, id: str | int, *, include: Sequence[str] | None = None
    ) -> WorkweekMembership:
        """`GET /workweek_memberships/{id}`."""
        return await self._read_one((self.path, self._id(id)), include)

    async def create(
        self,
        *,
        user_id: str | int,
        start_date: date,
        sunday_minutes: int | None = None,
        monday_minutes: int | None = None,
        tuesday_minutes: int | None = None,
        wednesday_minutes: int | None = None,
        thursday_minutes: int | None = None,
        friday_minutes: int | None = None,
        saturday_minutes: int | None = None,
        include: Sequence[str] | None = None,
    ) -> WorkweekMembership:
        """`POST /workweek_memberships`: give a user a custom workweek from `start_date`.

        `start_date` must be a Sunday; minutes are per weekday (0 to 1440).
        """
        minutes = _check_minutes({k: v for k, v in locals().items() if k in MINUTES})
        fields: dict[str, object] = {
            "user_id": int(self._id(user_id, "user_id")),
            "start_date": _check_sunday(start_date),
            **minutes,
        }
        params, tree = self._read_params(include)
        body = self._write_body(fields)
        created = await self._one("POST", (self.path,), params=params, body=body, tree=tree)
        await self._refresh_timeline(fields["user_id"], created.id)
        return created

    async def update(
        self,
        id: str | int,
        *,
        start_date: date | None = None,
        sunday_minutes: int | None = None,
        monday_minutes: int | None = None,
        tuesday_minutes: int | None = None,
        wednesday_minutes: int | None = None,
        thursday_minutes: int | None = None,
        friday_minutes: int | None = None,
        saturday_minutes: int | None = None,
        include: Sequence[str] | None = None,
    ) -> WorkweekMembership:
        """`PUT /workweek_memberships/{id}` with only the fields given (the user is fixed).

        The relations the held membership has loaded come back with the answer (its
        `workweek` holds the minutes); a new `start_date` moves the neighbouring memberships'
        `end_date`, so those the graph holds are fetched again.
        """
        minutes = _check_minutes({k: v for k, v in locals().items() if k in MINUTES})
        wid = self._id(id)
        fields: dict[str, object] = dict(minutes)
        if start_date is not None:
            fields["start_date"] = _check_sunday(start_date)
        held = self._client.graph.get(WorkweekMembership, wid)
        params, tree = self._write_params([held] if held else [], include)
        body = self._write_body(fields)
        path = (self.path, wid)
        updated = await self._one("PUT", path, params=params, body=body, tree=tree)
        if start_date is not None:
            await self._refresh_timeline(updated.__dict__.get("user_id"), wid)
        return updated

    async def standardize_to_default(
        self,
        *,
        user_id: str | int,
        start_date: date | None = None,
        include: Sequence[str] | None = None,
    ) -> WorkweekMembership:
        """`PUT /workweek_memberships/standardize_to_default`: switch a user to the account's
        default workweek from `start_date` (a Sunday; the server's today when omitted)."""
        fields: dict[str, object] = {"user_id": int(self._id(user_id, "user_id"))}
        if start_date is not None:
            fields["start_date"] = _check_sunday(start_date)
        params, tree = self._read_params(include)
        body = self._write_body(fields)
        path = (self.path, "standardize_to_default")
        switched = await self._one("PUT", path, params=params, body=body, tree=tree)
        await self._refresh_timeline(fields["user_id"], switched.id)
        return switched

    async def delete(self, id: str | int) -> None:
        """`DELETE /workweek_memberships/{id}`; the graph forgets the membership.

        Objects you hold keep their data, but the user's and workweek's inverse lists no
        longer include it.
        """
        wid = self._id(id)
        held = self._client.graph.get(WorkweekMembership, wid)
        await self._call("DELETE", (self.path, wid))
        self._client.graph.forget(WorkweekMembership, wid)
        if held is not None:
            await self._refresh_timeline(held.__dict__.get("user_id"), wid)

    async def _refresh_timeline(self, user_id: object, written: str) -> None:
        """Fetch again the user's memberships the graph holds, after a write moved them.

        A user's memberships form a timeline (each ends the day before the next starts), so
        creating, moving, switching or deleting one changes its neighbours' `end_date`. When
        the graph holds other memberships of the user, every membership of the user is
        listed again (with the relations the held ones have loaded), which also marks
        `user.workweek_memberships` complete; a held one the server no longer lists was
        removed by the write and is forgotten.
        """
        if user_id is None:
            return
        uid = str(user_id)
        graph = self._client.graph
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
