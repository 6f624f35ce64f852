"""Plain aiohttp requests against a FakeKantata, for the tests of the fake server itself."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import aiohttp
from conftest import visible
from multidict import CIMultiDictProxy

from kantata_async.testing import FakeKantata

SUNDAY = date(2025, 3, 2)
PHOTO = "user[profile_photo_attachment_file]"


@dataclass
class Reply:
    """One answer: status, headers and raw body."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Api:
    """Requests against one fake, with its token unless told otherwise."""

    def __init__(self, fake: FakeKantata, session: aiohttp.ClientSession) -> None:
        self.fake = fake
        self.session = session

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> Reply:
        sent = dict(headers or {})
        if auth:
            sent.setdefault("Authorization", f"Bearer {self.fake.token}")
        async with self.session.request(
            method,
            self.fake.base_url + path,
            params=params,
            json=json,
            data=data,
            headers=sent,
        ) as resp:
            return Reply(resp.status, resp.headers, await resp.read())

    async def get(self, path: str, **params: str) -> Reply:
        return await self.call("GET", path, params=params)

    async def ok(self, path: str, **params: str) -> Any:
        reply = await self.get(path, **params)
        assert reply.status == 200, reply.body
        return reply.json()


def users_of(fake: FakeKantata) -> dict[str, dict[str, Any]]:
    return fake.dataset.records["users"]


def alphabetical(
    fake: FakeKantata, *, disabled: bool = False, on_my_account: bool = False
) -> list[str]:
    """The ids `GET /users` lists by default (or with these filters), in its order."""
    ids = visible(fake, show_disabled=disabled, on_my_account=on_my_account)
    users = [users_of(fake)[i] for i in ids]
    users.sort(key=lambda u: (u["full_name"].casefold(), int(u["id"])))
    return [u["id"] for u in users]


def result_ids(body: Mapping[str, Any]) -> list[str]:
    return [r["id"] for r in body["results"]]


def errors(reply: Reply) -> list[dict[str, str]]:
    body = reply.json()
    assert set(body) == {"errors"}
    return list(body["errors"])


def fields(reply: Reply) -> list[str]:
    return [e["field"] for e in errors(reply) if e["type"] == "validation"]
