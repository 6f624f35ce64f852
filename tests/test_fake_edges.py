"""FakeKantata never answers 500 to a request a client can send, and never blocks its loop."""

from __future__ import annotations

import json
from datetime import date

import aiohttp
import pytest

from kantata_async import KantataClient, UnprocessableEntityError
from kantata_async.testing import FakeKantata
from kantata_async.testing._query import MAX_CAPACITY_DAYS


async def get(fake: FakeKantata, path: str, **params: str) -> tuple[int, object]:
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {fake.token}"}) as session,
        session.get(fake.base_url + path, params=params) as resp,
    ):
        # The standard library keeps integers past 64 bits exact (orjson would not).
        return resp.status, json.loads(await resp.text())


@pytest.mark.parametrize("page", [2**64, 10**400, -(2**64)])
async def test_a_huge_page_number_is_echoed(fake: FakeKantata, page: int) -> None:
    status, body = await get(fake, "users", page=str(page))
    assert status == 200
    assert isinstance(body, dict)
    # Brainstem echoes the page unclamped; a page below 1 is page 1.
    assert body["meta"]["page_number"] == page
    assert (len(body["results"]) == 0) == (page > 1)


async def test_a_page_number_too_long_to_read_is_a_bad_request(fake: FakeKantata) -> None:
    status, body = await get(fake, "users", page="9" * 5000)
    assert status == 400
    assert body == {"errors": [{"type": "system", "message": "page has more than 4,000 digits"}]}


async def test_a_capacity_range_past_the_maximum_is_a_validation_error(fake: FakeKantata) -> None:
    async with KantataClient(fake.token, base_url=fake.base_url) as client:
        with pytest.raises(UnprocessableEntityError) as info:
            await client.users.capacity(
                fake.me, start_date=date(1, 1, 1), end_date=date(9999, 12, 31)
            )
        assert info.value.field_errors == {
            "end_date": [f"the range must be at most {MAX_CAPACITY_DAYS:,} days"]
        }
        # 3,653 days (ten years with three leap days) fit, to the last day of the calendar.
        capacity = await client.users.capacity(
            fake.me, start_date=date(9989, 12, 31), end_date=date(9999, 12, 31)
        )
        assert len(capacity.hours) == MAX_CAPACITY_DAYS == 3653
        with pytest.raises(UnprocessableEntityError):
            await client.users.capacity(
                fake.me, start_date=date(9989, 12, 30), end_date=date(9999, 12, 31)
            )
    assert [r.status for r in fake.requests] == [422, 200, 422]
