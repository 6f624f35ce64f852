"""Raw calls: any path, with the client's retries, errors and graph."""

from __future__ import annotations

import pytest
from conftest import visible

from kantata_async import KantataClient, ResponseValidationError, User
from kantata_async.testing import FakeKantata


async def test_a_raw_get_merges_into_the_graph_and_retries(
    fake: FakeKantata, client: KantataClient
) -> None:
    fake.fail_next(503)
    users = await client.get("users", params={"per_page": "5", "order": "alphabetical:desc"})
    assert len(users) == 5
    assert all(isinstance(u, User) for u in users)
    assert client.graph.get(User, users[0].id) is users[0]
    assert [r.status for r in fake.requests] == [503, 200]
    again = await client.users.get(users[0].id)
    assert again is users[0]  # one graph


async def test_raw_writes_and_json(fake: FakeKantata, client: KantataClient) -> None:
    uid = sorted(visible(fake), key=int)[0]
    [user] = await client.put(f"users/{uid}", json={"user": {"headline": "Raw"}})
    assert isinstance(user, User)
    assert user.headline == "Raw"
    week = {"start_date": "2026-01-04", "end_date": "2026-01-10"}
    capacity = await client.get_json(f"users/{uid}/capacity", params=week)
    assert set(capacity) == {"start_date", "end_date", "hours"}
    with pytest.raises(ResponseValidationError, match="get_json"):
        await client.get(f"users/{uid}/capacity", params=week)


@pytest.mark.parametrize("path", ["../oauth/token", "users/../../x", "users//5", "users/%2e%2e"])
async def test_a_raw_path_cannot_leave_the_api_root(client: KantataClient, path: str) -> None:
    with pytest.raises(ValueError, match="is not a path segment"):
        await client.get(path)


async def test_a_page_is_iterable_and_has_a_length(client: KantataClient) -> None:
    page = await client.users.list(per_page=7)
    assert len(page) == 7
    assert list(page) == page.items


async def test_a_client_reads_its_token_and_base_url_from_the_environment(
    fake: FakeKantata, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", fake.token)
    monkeypatch.setenv("KANTATA_BASE_URL", fake.base_url)
    async with KantataClient() as client:
        assert str(client.base_url) == fake.base_url
        assert len(await client.users.list(per_page=3)) == 3
    assert fake.requests[0].headers["authorization"] == f"Bearer {fake.token}"
    monkeypatch.delenv("KANTATA_TOKEN")
    with pytest.raises(ValueError, match=r"no token: .* or set KANTATA_TOKEN"):
        KantataClient()
