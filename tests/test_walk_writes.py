"""Walks and writes: a page sent before a write does not undo it; a write reloads what is held."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web
from conftest import user_ids
from servers import AppServer

from kantata_async import KantataClient, User
from kantata_async.testing import FakeKantata

TOKEN = "walk-token"


# -- 11. answers to requests sent before a write -------------------------------------------


def _race_app(release: asyncio.Event, asked: asyncio.Event) -> web.Application:
    """GET pages render the old state and wait for `release`; writes answer at once."""
    old_user = {"id": "7", "full_name": "Ann", "headline": "Old"}
    memberships = {
        "21": {"id": "21", "user_id": 7, "start_date": "2026-01-04"},
        "22": {"id": "22", "user_id": 7, "start_date": "2026-02-01"},
    }

    async def list_users(request: web.Request) -> web.Response:
        body = json.dumps(
            {
                "count": 1,
                "meta": {"count": 1, "page_count": 1, "page_number": 1, "page_size": 20},
                "results": [{"key": "users", "id": "7"}],
                "users": {"7": dict(old_user)},
            }
        )
        asked.set()
        await release.wait()
        return web.Response(body=body, content_type="application/json")

    async def update_user(request: web.Request) -> web.Response:
        fields = (await request.json())["user"]
        return web.json_response(
            {
                "count": 1,
                "results": [{"key": "users", "id": "7"}],
                "users": {"7": {**old_user, **fields}},
            }
        )

    async def list_memberships(request: web.Request) -> web.Response:
        body = json.dumps(
            {
                "count": 2,
                "meta": {"count": 2, "page_count": 1, "page_number": 1, "page_size": 20},
                "results": [{"key": "workweek_memberships", "id": i} for i in memberships],
                "workweek_memberships": memberships,
                "users": {"7": dict(old_user)},
            }
        )
        asked.set()
        await release.wait()
        return web.Response(body=body, content_type="application/json")

    async def delete_membership(request: web.Request) -> web.Response:
        return web.Response(status=204)

    app = web.Application()
    app.router.add_get("/api/v1/users", list_users)
    app.router.add_put("/api/v1/users/7", update_user)
    app.router.add_get("/api/v1/workweek_memberships", list_memberships)
    app.router.add_delete("/api/v1/workweek_memberships/{id}", delete_membership)
    return app


async def test_a_page_sent_before_an_update_does_not_undo_it() -> None:
    release, asked = asyncio.Event(), asyncio.Event()
    async with (
        AppServer(_race_app(release, asked)) as server,
        KantataClient(TOKEN, base_url=server.url()) as client,
    ):
        page = asyncio.ensure_future(client.users.list())
        await asyncio.wait_for(asked.wait(), 10)  # the page's request is out
        updated = await client.users.update("7", headline="New")
        release.set()
        [listed] = (await page).items
        assert listed is updated
        assert updated.headline == "New"  # the older answer did not overwrite it
        assert updated.full_name == "Ann"


async def test_a_page_sent_before_a_delete_does_not_bring_the_record_back() -> None:
    release, asked = asyncio.Event(), asyncio.Event()
    async with (
        AppServer(_race_app(release, asked)) as server,
        KantataClient(TOKEN, base_url=server.url()) as client,
    ):
        page = asyncio.ensure_future(client.workweek_memberships.list(include=["user"]))
        await asyncio.wait_for(asked.wait(), 10)
        await client.workweek_memberships.delete("21")
        release.set()
        listed = (await page).items
        assert [m.id for m in listed] == ["22"]
        assert client.graph.get("workweek_memberships", "21") is None
        user = client.graph.get(User, "7")
        assert user is not None
        client.graph.mark_loaded(user, "workweek_memberships")
        assert [m.id for m in user.workweek_memberships] == ["22"]


# -- 12. a write brings back what the held object has loaded -------------------------------


async def test_a_user_update_brings_back_the_relations_held(
    fake: FakeKantata, client: KantataClient
) -> None:
    uid = user_ids(fake)[3]
    user = await client.users.get(uid, include=["role", "skills"])
    await client.users.update(uid, headline="Lead")
    assert fake.requests[-1].method == "PUT"
    assert fake.requests[-1].query["include"] == "role,skills"
    assert user.headline == "Lead"
