"""Property tests: merge order does not matter, inverse links stay consistent, holding is weak."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from conftest import collect, envelope
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from kantata_async import (
    FieldNotLoadedError,
    Graph,
    RelationNotLoadedError,
    Role,
    User,
    WorkweekMembership,
)

BASE = datetime(2024, 1, 1, tzinfo=UTC)

# Fields a workweek membership version may carry, and how each reads back.
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "start_date": st.one_of(
        st.none(), st.dates(date(2023, 1, 1), date(2025, 12, 31)).map(date.isoformat)
    ),
    "end_date": st.one_of(
        st.none(), st.dates(date(2023, 1, 1), date(2025, 12, 31)).map(date.isoformat)
    ),
    "workweek_id": st.sampled_from([3, "4", None]),
    "user_id": st.sampled_from([7, 8, "7", "8", None]),
    "note": st.one_of(st.none(), st.text(max_size=3)),  # not declared: lands in extra
}
DECLARED = [f for f in FIELDS if f != "note"]


def _reads_as(field: str, value: Any) -> Any:
    if value is None:
        return None
    if field.endswith("_date"):
        return date.fromisoformat(value)
    if field.endswith("_id"):
        return str(value)
    return value


def _render(instant: datetime, style: int) -> str:
    """One instant, written the ways a stamp may arrive: Z, an offset, or naive UTC."""
    if style == 0:
        return instant.isoformat().replace("+00:00", "Z")
    if style == 1:
        return instant.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()
    if style == 2:
        return instant.astimezone(timezone(timedelta(hours=-8))).isoformat()
    return instant.isoformat().removesuffix("+00:00")  # naive, taken as UTC


Version = tuple[datetime, str, dict[str, Any]]  # (instant, updated_at as sent, fields)


@st.composite
def histories(draw: st.DrawFn) -> list[dict[str, Version]]:
    """1-5 payloads, each carrying a version of membership 1, 2 or both.

    Every version has its own updated_at and a random subset of the fields.
    """
    n = draw(st.integers(1, 5))
    seconds = iter(
        draw(st.lists(st.integers(0, 10**7), min_size=2 * n, max_size=2 * n, unique=True))
    )
    payloads = []
    for _ in range(n):
        payload = {}
        for wid in sorted(draw(st.sets(st.sampled_from(["1", "2"]), min_size=1))):
            instant = BASE + timedelta(seconds=next(seconds))
            stamp = _render(instant, draw(st.integers(0, 3)))
            payload[wid] = (instant, stamp, draw(st.fixed_dictionaries({}, optional=FIELDS)))
        payloads.append(payload)
    return payloads


@settings(deadline=None, max_examples=150, database=None)
@given(history=histories(), data=st.data(), read_between=st.booleans())
def test_any_merge_order_gives_per_field_newest_values(
    history: list[dict[str, Version]], data: st.DataObject, read_between: bool
) -> None:
    order = data.draw(st.permutations(history), label="merge order")
    graph = Graph()
    users = {u.id: u for u in graph.merge(envelope("users", {"7": {}, "8": {}}))}

    held: list[Any] = []
    for payload in order:
        records = {
            wid: {"updated_at": stamp, **copy.deepcopy(fields)}
            for wid, (_, stamp, fields) in payload.items()
        }
        held += graph.merge(envelope("workweek_memberships", records))
        if read_between:  # converting and caching values must not disturb later merges
            for membership in held:
                for field in DECLARED:
                    getattr(membership, field, None)
                getattr(membership, "user", None)

    owners: dict[str, str | None] = {}
    for wid in ("1", "2"):
        versions = sorted((p[wid] for p in history if wid in p), key=lambda v: v[0])
        membership = graph.get(WorkweekMembership, wid)
        if not versions:
            assert membership is None
            continue
        assert membership is not None
        # the oracle: per field, the newest version that carried it
        expected: dict[str, Any] = {}
        for _, _, fields in versions:
            expected.update(fields)
        for field in DECLARED:
            if field in expected:
                assert getattr(membership, field) == _reads_as(field, expected[field]), field
            else:
                with pytest.raises(FieldNotLoadedError):
                    getattr(membership, field)
        assert membership.extra == ({"note": expected["note"]} if "note" in expected else {})
        assert membership.updated_at == versions[-1][0]
        if "user_id" not in expected:
            with pytest.raises(RelationNotLoadedError):
                _ = membership.user
            continue
        owners[wid] = owner = _reads_as("user_id", expected["user_id"])
        assert membership.user is (users[owner] if owner else None)

    for uid, user in users.items():
        graph.mark_loaded(user, "workweek_memberships")  # every membership was merged
        linked = user.workweek_memberships
        assert sorted(m.id for m in linked) == sorted(w for w, o in owners.items() if o == uid)


@settings(deadline=None, max_examples=60, database=None)
@given(
    owners=st.lists(st.sampled_from(["1", "2", "3", "4"]), min_size=1, max_size=12),
    data=st.data(),
)
def test_inverse_links_agree_with_forward_ids_whatever_the_paging(
    owners: list[str], data: st.DataObject
) -> None:
    """Memberships (owner by index) and their users, cut into pages and merged in any order."""
    pieces: list[tuple[str, str]] = [("workweek_memberships", str(i)) for i in range(len(owners))]
    pieces += [("users", uid) for uid in ("1", "2", "3", "4")]
    pieces = data.draw(st.permutations(pieces), label="arrival order")
    cuts = sorted(data.draw(st.sets(st.integers(1, len(pieces) - 1)), label="page breaks"))

    graph = Graph()
    held: list[Any] = []
    for start, stop in zip([0, *cuts], [*cuts, len(pieces)], strict=True):
        page: dict[str, dict[str, dict[str, Any]]] = {}
        for key, id_ in pieces[start:stop]:
            body = {"user_id": int(owners[int(id_)])} if key == "workweek_memberships" else {}
            page.setdefault(key, {})[id_] = body
        payload: dict[str, Any] = {
            "results": [{"key": k, "id": i} for k, records in page.items() for i in records],
            **page,
        }
        held += graph.merge(payload)

    for uid in ("1", "2", "3", "4"):
        user = graph.get(User, uid)
        assert user is not None
        mine = {str(i) for i, owner in enumerate(owners) if owner == uid}
        if not mine:
            # No membership links here: the graph cannot know the user has none.
            with pytest.raises(RelationNotLoadedError):
                _ = user.workweek_memberships
            continue
        with pytest.raises(RelationNotLoadedError, match="may not be all of them"):
            _ = user.workweek_memberships  # a list the graph cannot know is complete
        graph.mark_loaded(user, "workweek_memberships")  # every membership was merged
        assert {m.id for m in user.workweek_memberships} == mine
        for m in user.workweek_memberships:
            assert m.user is user
    assert graph.count(WorkweekMembership) == len(owners)


@st.composite
def organisations(draw: st.DrawFn) -> tuple[list[str | None], list[str | None], set[int]]:
    """Users 0..n-1 with a manager (another user, or none) and a role; which ones to keep."""
    n = draw(st.integers(1, 8))
    managers = draw(st.lists(st.none() | st.integers(0, n - 1).map(str), min_size=n, max_size=n))
    roles = draw(st.lists(st.none() | st.sampled_from(["r0", "r1", "r2"]), min_size=n, max_size=n))
    keep = draw(st.sets(st.integers(0, n - 1)))
    return managers, roles, keep


def _organisation_page(managers: list[str | None], roles: list[str | None]) -> dict[str, Any]:
    users = {
        str(i): {"full_name": f"user {i}", "manager_id": manager, "role_id": role}
        for i, (manager, role) in enumerate(zip(managers, roles, strict=True))
    }
    return envelope("users", users, roles={r: {"name": r} for r in ("r0", "r1", "r2")})


@settings(deadline=None, max_examples=60, database=None)
@given(organisation=organisations())
def test_the_graph_holds_weakly_and_links_hold_strongly(
    organisation: tuple[list[str | None], list[str | None], set[int]],
) -> None:
    managers, roles, keep = organisation
    graph = Graph()
    everyone = graph.merge(_organisation_page(managers, roles))
    kept = [everyone[i] for i in sorted(keep)]
    del everyone
    collect()

    # what should survive: the kept users and every manager up their chains, and their roles
    alive: set[str] = set()
    todo = [str(i) for i in keep]
    while todo:
        uid = todo.pop()
        if uid not in alive:
            alive.add(uid)
            if managers[int(uid)] is not None:
                todo.append(managers[int(uid)])
    alive_roles = {roles[int(uid)] for uid in alive} - {None}

    assert graph.count(User) == len(alive)
    assert graph.count(Role) == len(alive_roles)
    for i in range(len(managers)):
        assert (graph.get(User, str(i)) is not None) == (str(i) in alive), i
    for role in ("r0", "r1", "r2"):
        assert (graph.get(Role, role) is not None) == (role in alive_roles), role
    for user in kept:  # links stay readable, and are the graph's objects
        assert graph.get(User, user.id) is user
        if user.manager is not None:
            assert user.manager is graph.get(User, user.manager.id)
            assert user.manager.full_name == f"user {user.manager.id}"
        if user.role is not None:
            assert user.role.name == user.role_id


class InverseLinks(RuleBasedStateMachine):
    """Memberships move between users, get forgotten and come back; users arrive any time.

    Invariant: a user's `workweek_memberships` lists, once each, exactly the memberships in
    the graph whose `user_id` names that user.
    """

    def __init__(self) -> None:
        super().__init__()
        self.graph = Graph()
        self.owner: dict[str, str | None] = {}  # membership id -> user id, for those in the graph
        self.held: list[Any] = []  # hold everything, so that only forget removes anything

    @rule(wid=st.sampled_from(["1", "2", "3", "4"]), uid=st.sampled_from([1, 2, 3, None]))
    def merge_membership(self, wid: str, uid: int | None) -> None:
        self.held += self.graph.merge(envelope("workweek_memberships", {wid: {"user_id": uid}}))
        self.owner[wid] = None if uid is None else str(uid)

    @rule(uid=st.sampled_from(["1", "2", "3"]))
    def merge_user(self, uid: str) -> None:
        self.held += self.graph.merge(envelope("users", {uid: {"full_name": f"user {uid}"}}))

    @rule(wid=st.sampled_from(["1", "2", "3", "4"]))
    def forget_membership(self, wid: str) -> None:
        self.graph.forget(WorkweekMembership, wid)
        self.owner.pop(wid, None)

    @invariant()
    def inverse_matches_forward(self) -> None:
        for uid in ("1", "2", "3"):
            user = self.graph.get(User, uid)
            if user is None:
                continue
            self.graph.mark_loaded(user, "workweek_memberships")  # the test merges them all
            linked = user.workweek_memberships
            ids = [m.id for m in linked]
            assert len(ids) == len(set(ids)), ids
            assert set(ids) == {w for w, owner in self.owner.items() if owner == uid}, uid
            assert all(m is self.graph.get(WorkweekMembership, m.id) for m in linked)
            assert all(m.user is user for m in linked)


InverseLinks.TestCase.settings = settings(
    deadline=None, max_examples=60, stateful_step_count=25, database=None
)
test_inverse_links_state_machine = InverseLinks.TestCase
