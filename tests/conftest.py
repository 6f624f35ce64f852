"""Fixtures the tests share (a graph; the fake Kantata in the test's loop, in a thread, and a
client for it) and helpers for tests against the fake server.

The envelope builders live in `payloads`; they are imported here too, so that tests keep
taking them `from conftest import ...`.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from payloads import envelope as envelope
from payloads import users_page as users_page
from payloads import workweek_memberships_page as workweek_memberships_page
from threaded import Served, serve_in_thread

from kantata_async import Graph, KantataClient, RetryPolicy
from kantata_async.testing import FakeKantata


def collect() -> None:
    """Free everything that only reference cycles keep alive (user <-> membership, ...)."""
    gc.collect()


@pytest.fixture
def graph() -> Graph:
    return Graph()


# -- the client against the fake server --------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeKantata]:
    """A fake Kantata with 60 users, served on loopback for the test."""
    async with FakeKantata(users=60, seed=5) as server:
        yield server


@pytest.fixture
async def api(fake: FakeKantata) -> AsyncIterator[Any]:
    """Plain requests against `fake` (see `fake_api.Api`)."""
    from fake_api import Api  # it reads this module's helpers: imported when first used

    async with aiohttp.ClientSession() as session:
        yield Api(fake, session)


@pytest.fixture
async def client(fake: FakeKantata) -> AsyncIterator[KantataClient]:
    """A client for `fake` whose retries do not wait (`RetryPolicy.instant`)."""
    policy = RetryPolicy.instant(max_retries=3)
    async with KantataClient(fake.token, base_url=fake.base_url, retry=policy) as c:
        yield c


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session for the test (the OAuth tests talk to the fake with it)."""
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def served() -> Iterator[Served]:
    """A fake Kantata with 60 users served from a thread of its own, for code that runs its
    own event loop (the command line, a dlt pipeline): such tests stay synchronous."""
    with serve_in_thread(users=60, seed=5) as served:
        yield served


@pytest.fixture
def no_env_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """No token or base URL from the environment: the command line tests pass their own."""
    monkeypatch.delenv("KANTATA_TOKEN", raising=False)
    monkeypatch.delenv("KANTATA_BASE_URL", raising=False)


# -- helpers for tests against the fake server ---------------------------------------------


def sdk_tasks() -> list[asyncio.Task[Any]]:
    """Tasks running SDK code (the fake server's handlers share the loop: not counted)."""
    out = []
    for task in asyncio.all_tasks():
        coro = task.get_coro()
        filename = getattr(getattr(coro, "cr_code", None), "co_filename", "")
        if task is asyncio.current_task() or "kantata_async" not in filename:
            continue
        if "testing" not in filename:
            out.append(task)
    return out


def visible(
    fake: FakeKantata, *, on_my_account: bool = False, show_disabled: bool = False
) -> set[str]:
    """The ids of the users `GET /users` lists by default, by the rules the Users docs give.

    Without `on_my_account`: the people of the requester's projects (an administrator's:
    the projects of the account or with one of its members). With it: everyone on the
    requester's account. Disabled users are hidden unless `show_disabled`.
    """
    records = fake.dataset.records
    users = records["users"]
    me = users[fake.me]
    account = me["account_id"]
    if on_my_account:
        chosen = {i for i, u in users.items() if u["account_id"] == account}
    else:
        people: dict[str, set[str]] = {}
        for p in records["participations"].values():
            people.setdefault(p["workspace_id"], set()).add(p["user_id"])
        membership = records["account_memberships"][me["account_membership_id"]]
        if membership["is_administrator"]:
            projects = [
                w
                for w, who in people.items()
                if records["workspaces"][w]["account_id"] == account
                or any(users.get(u, {}).get("account_id") == account for u in who)
            ]
        else:
            projects = [w for w, who in people.items() if fake.me in who]
        chosen = set().union(*(people[w] for w in projects))
    # Participations of deleted users stay behind (deletes do not cascade).
    return {i for i in chosen if i in users and (show_disabled or not users[i].get("disabled"))}


def user_ids(fake: FakeKantata) -> list[str]:
    """The ids of the users `GET /users` lists by default (see `visible`), in id order."""
    return sorted(visible(fake), key=int)


def on_my_account(fake: FakeKantata, *, disabled: bool = True) -> list[str]:
    """The users `GET /users?on_my_account=true` lists, by id: the requester's account's,
    and its disabled users too with `disabled` (`show_disabled=true`)."""
    users = fake.dataset.records["users"]
    account = users[fake.me]["account_id"]
    return sorted(
        (
            i
            for i, u in users.items()
            if u["account_id"] == account and (disabled or not u.get("disabled"))
        ),
        key=int,
    )


def my_memberships(fake: FakeKantata) -> dict[str, dict[str, Any]]:
    """The workweek memberships `GET /workweek_memberships` lists: the requester's account's."""
    users = fake.dataset.records["users"]
    account = users[fake.me]["account_id"]
    return {
        i: wm
        for i, wm in fake.dataset.records["workweek_memberships"].items()
        if users.get(str(wm["user_id"]), {}).get("account_id") == account
    }


@dataclass
class Answer:
    """What the fake answered to one request."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def call(
    fake: FakeKantata,
    method: str,
    path: str,
    *,
    params: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    data: bytes | None = None,
    content_type: str | None = None,
) -> Answer:
    """One request to `fake` with its token; `data` goes with `content_type` (None: without
    any `Content-Type` header)."""
    sent = {"Authorization": f"Bearer {fake.token}"}
    if content_type is not None:
        sent["Content-Type"] = content_type
    skip = () if content_type is not None else ("Content-Type",)
    async with (
        aiohttp.ClientSession(headers=sent, skip_auto_headers=skip) as session,
        session.request(method, fake.base_url + path, params=params, data=data) as resp,
    ):
        return Answer(resp.status, dict(resp.headers), await resp.read())
