"""The examples in examples/: a FastAPI app and an aiohttp.web app, each against a FakeKantata."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from aiohttp import test_utils, web
from fastapi import FastAPI

from kantata_async import KantataClient
from kantata_async.testing import FakeKantata

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")


def load(name: str) -> ModuleType:
    """Import examples/<name>.py (the folder is not a package; its apps import `views`)."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(f"examples_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fastapi_example = load("fastapi_app")
aiohttp_example = load("aiohttp_app")


@dataclass
class Reply:
    status: int
    body: Any


@dataclass
class Served:
    """One running example app: `get(path)` and the app's shared `KantataClient`."""

    get: Callable[[str], Awaitable[Reply]]
    client: KantataClient


@pytest.fixture
def fastapi_app(fake: FakeKantata) -> FastAPI:
    app: FastAPI = fastapi_example.create_app(token=fake.token, base_url=fake.base_url)
    return app


@pytest.fixture
def aiohttp_app(fake: FakeKantata) -> web.Application:
    app: web.Application = aiohttp_example.create_app(token=fake.token, base_url=fake.base_url)
    return app


@asynccontextmanager
async def serve_fastapi(app: FastAPI) -> AsyncIterator[Served]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http,
    ):

        async def get(path: str) -> Reply:
            resp = await http.get(path)
            return Reply(resp.status_code, resp.json())

        yield Served(get, app.state.kantata)


@asynccontextmanager
async def serve_aiohttp(app: web.Application) -> AsyncIterator[Served]:
    async with test_utils.TestClient(test_utils.TestServer(app)) as http:

        async def get(path: str) -> Reply:
            async with http.get(path) as resp:
                return Reply(resp.status, await resp.json())

        yield Served(get, app[aiohttp_example.KANTATA])


@pytest.fixture(params=["fastapi", "aiohttp"])
async def served(
    request: pytest.FixtureRequest, fastapi_app: FastAPI, aiohttp_app: web.Application
) -> AsyncIterator[Served]:
    serve = serve_fastapi(fastapi_app) if request.param == "fastapi" else serve_aiohttp(aiohttp_app)
    async with serve as running:
        yield running


def expected_memberships(fake: FakeKantata, user_id: str) -> list[dict[str, Any]]:
    """What the workweeks route should answer, straight from the fake's dataset."""
    records = fake.dataset.records
    mine = [m for m in records["workweek_memberships"].values() if str(m["user_id"]) == user_id]
    mine.sort(key=lambda m: (m["start_date"], int(m["id"])))
    out = []
    for m in mine:
        week = records["workweeks"][m["workweek_id"]]
        out.append(
            {
                "id": m["id"],
                "start_date": m["start_date"],
                "end_date": m["end_date"],
                "workweek_id": m["workweek_id"],
                "default_workweek": week["default"],
                "minutes": {d: week[f"{d}_minutes"] for d in DAYS},
                "total_minutes": week["total_minutes"],
            }
        )
    return out


def user_with_memberships(fake: FakeKantata, at_least: int) -> str:
    counts: dict[str, int] = {}
    for m in fake.dataset.records["workweek_memberships"].values():
        counts[str(m["user_id"])] = counts.get(str(m["user_id"]), 0) + 1
    users = fake.dataset.records["users"]
    return next(
        uid for uid, n in sorted(counts.items()) if n >= at_least and not users[uid]["disabled"]
    )


# -- both apps ------------------------------------------------------------------------------


async def test_me_returns_the_user_and_role_name(fake: FakeKantata, served: Served) -> None:
    reply = await served.get("/me")
    assert reply.status == 200
    record = fake.dataset.records["users"][fake.me]
    role = fake.dataset.records["roles"][record["role_id"]]
    assert reply.body["role_name"] == role["name"]
    user = reply.body["user"]
    assert (user["id"], user["full_name"], user["email_address"]) == (
        fake.me,
        record["full_name"],
        record["email_address"],
    )
    assert user["role_id"] == record["role_id"]
    assert [(r.method, r.path, r.query) for r in fake.requests] == [
        ("GET", "users/me", {"include": "role"})
    ]


async def test_workweeks_lists_memberships_with_their_minutes(
    fake: FakeKantata, served: Served
) -> None:
    user_id = user_with_memberships(fake, at_least=2)
    reply = await served.get(f"/users/{user_id}/workweeks")
    assert reply.status == 200
    assert reply.body["user"] == {
        "id": user_id,
        "full_name": fake.dataset.records["users"][user_id]["full_name"],
    }
    expected = expected_memberships(fake, user_id)
    assert len(expected) >= 2
    assert reply.body["workweek_memberships"] == expected
    listing = fake.requests[-1]
    assert listing.path == "workweek_memberships"
    assert (listing.query["user_ids"], listing.query["include"]) == (user_id, "workweek")


async def test_an_unknown_user_is_a_404(fake: FakeKantata, served: Served) -> None:
    reply = await served.get("/users/999999/workweeks")
    assert reply.status == 404
    assert "404 GET users/999999" in reply.body["detail"]
    assert [r.path for r in fake.requests] == ["users/999999"]


async def test_other_kantata_errors_are_a_502_without_the_token(
    fake: FakeKantata, served: Served
) -> None:
    fake.fail_next(403, path="users/me")  # not retried: a 403 is final
    reply = await served.get("/me")
    assert reply.status == 502
    assert reply.body["detail"].startswith("Kantata error: 403 GET users/me")
    assert fake.token not in str(reply.body)


async def test_one_client_serves_every_request(fake: FakeKantata, served: Served) -> None:
    client = served.client
    assert isinstance(client, KantataClient)
    transport = client.transport
    user_id = user_with_memberships(fake, at_least=1)
    paths = ("/me", f"/users/{user_id}/workweeks", "/me")
    replies = await asyncio.gather(*(served.get(path) for path in paths))
    assert [r.status for r in replies] == [200, 200, 200]
    # Every request the fake saw went through that one client (and its one session).
    assert client.transport is transport
    assert transport.requests_sent == len(fake.requests)
    # The two /me calls share one request when they overlap in the client, else send two.
    assert len(fake.requests) in (3, 4)
    assert client.graph.get("users", fake.me) is not None


async def test_both_apps_answer_alike(
    fake: FakeKantata, fastapi_app: FastAPI, aiohttp_app: web.Application
) -> None:
    user_id = user_with_memberships(fake, at_least=1)
    paths = ("/me", f"/users/{user_id}/workweeks", "/users/999999/workweeks")
    answers = []
    for serve in (serve_fastapi(fastapi_app), serve_aiohttp(aiohttp_app)):
        async with serve as running:
            answers.append([await running.get(path) for path in paths])
    # Each answer of the fake has its own request id, which both apps quote.
    sent = {r.request_id for r in fake.requests}
    quoted = [re.findall(r"\[request id ([^\]]+)\]", str(a[2].body)) for a in answers]
    assert all(len(ids) == 1 and ids[0] in sent for ids in quoted)
    assert answers[0] != answers[1]
    same = [[re.sub(r"\[request id [^\]]+\]", "", str(r.body)) for r in a] for a in answers]
    assert same[0] == same[1]
    assert [r.status for r in answers[0]] == [r.status for r in answers[1]] == [200, 200, 404]


# -- lifecycle ------------------------------------------------------------------------------


async def test_fastapi_closes_the_client_at_shutdown(fastapi_app: FastAPI) -> None:
    async with serve_fastapi(fastapi_app) as running:
        transport = running.client.transport
        assert (await running.get("/me")).status == 200
        assert not transport.closed
    assert transport.closed
    with pytest.raises(RuntimeError, match="closed"):
        _ = fastapi_app.state.kantata.transport


async def test_aiohttp_closes_the_client_at_cleanup(aiohttp_app: web.Application) -> None:
    async with serve_aiohttp(aiohttp_app) as running:
        transport = running.client.transport
        assert (await running.get("/me")).status == 200
        assert not transport.closed
    assert transport.closed
    with pytest.raises(RuntimeError, match="closed"):
        _ = aiohttp_app[aiohttp_example.KANTATA].transport


async def test_fastapi_rejects_an_id_that_is_not_digits(
    fake: FakeKantata, fastapi_app: FastAPI
) -> None:
    async with serve_fastapi(fastapi_app) as running:
        assert (await running.get("/users/abc/workweeks")).status == 422
    assert fake.requests == []


async def test_aiohttp_rejects_an_id_that_is_not_digits(
    fake: FakeKantata, aiohttp_app: web.Application
) -> None:
    async with (
        test_utils.TestClient(test_utils.TestServer(aiohttp_app)) as http,
        http.get("/users/abc/workweeks") as resp,
    ):
        assert resp.status == 404  # the route does not match: aiohttp's plain-text 404
    assert fake.requests == []


@pytest.mark.parametrize("example", [fastapi_example, aiohttp_example])
async def test_settings_come_from_the_environment(
    fake: FakeKantata, monkeypatch: pytest.MonkeyPatch, example: ModuleType
) -> None:
    monkeypatch.delenv("KANTATA_TOKEN", raising=False)
    monkeypatch.delenv("KANTATA_BASE_URL", raising=False)
    with pytest.raises(RuntimeError, match="KANTATA_TOKEN"):
        example.create_app()
    monkeypatch.setenv("KANTATA_TOKEN", fake.token)
    assert example.settings(None, None) == (fake.token, "https://api.mavenlink.com/api/v1/")
    monkeypatch.setenv("KANTATA_BASE_URL", fake.base_url)
    app = example.create_app()
    serve = serve_fastapi(app) if example is fastapi_example else serve_aiohttp(app)
    async with serve as running:
        reply = await running.get("/me")
        assert (reply.status, reply.body["user"]["id"]) == (200, fake.me)
