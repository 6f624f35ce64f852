"""The plain writes every collection gets from its facts, and its links, against the server.

Create checks the body against the facts (400 without the wrapper key, 422 naming each
required field that is missing, each value of the wrong type, each id of nothing), update
and delete find the record first (404), approve/reject/cancel set the status, a nested
route checks its parent, and a list that is no envelope answers plain JSON.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from conftest import call

from kantata_async.testing import Dataset, FakeKantata


@pytest.fixture
async def fake() -> AsyncIterator[FakeKantata]:
    async with FakeKantata(dataset=Dataset(users=40, seed=4)) as server:
        yield server


async def send(fake: FakeKantata, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """The status and the decoded answer of one request with a JSON body."""
    path, _, query = path.partition("?")
    params = [tuple(p.split("=", 1)) for p in query.split("&") if p]
    data = None if body is None else json.dumps(body).encode()
    reply = await call(
        fake, method, path, params=params, data=data, content_type="application/json"
    )
    return reply.status, reply.json() if reply.body else None


async def test_create_checks_the_body_then_stores_the_record(fake: FakeKantata) -> None:
    records = fake.dataset.records
    story = next(iter(records["stories"].values()))
    assert (await send(fake, "POST", "time_entries", {"nothing": {}}))[0] == 400
    status, body = await send(fake, "POST", "time_entries", {"time_entry": {"notes": "x"}})
    assert status == 422
    assert {e["field"] for e in body["errors"]} == {
        "workspace_id",
        "date_performed",
        "time_in_minutes",
    }
    bad = {"workspace_id": 99999, "date_performed": "soon", "time_in_minutes": "long"}
    status, body = await send(fake, "POST", "time_entries", {"time_entry": bad})
    assert status == 422 and len(body["errors"]) == 3
    before = len(records["time_entries"])
    good = {
        "workspace_id": int(story["workspace_id"]),
        "story_id": int(story["id"]),
        "date_performed": "2024-02-03",
        "time_in_minutes": 90,
    }
    status, body = await send(fake, "POST", "time_entries?include=story", {"time_entry": good})
    assert status == 200 and len(records["time_entries"]) == before + 1
    [result] = body["results"]
    made = body["time_entries"][result["id"]]
    assert made["time_in_minutes"] == 90 and made["user_id"] == fake.me
    assert body["stories"][story["id"]]["workspace_id"] == story["workspace_id"]


async def test_update_delete_and_status_actions(fake: FakeKantata) -> None:
    records = fake.dataset.records
    entry = next(iter(records["time_entries"]))
    status, body = await send(fake, "PUT", f"time_entries/{entry}", {"time_entry": {"notes": "n"}})
    assert status == 200 and body["time_entries"][entry]["notes"] == "n"
    assert (await send(fake, "PUT", "time_entries/999999", {"time_entry": {"notes": "n"}}))[
        0
    ] == 404
    assert (await send(fake, "DELETE", f"time_entries/{entry}"))[0] == 204
    assert entry not in records["time_entries"]
    assert (await send(fake, "GET", f"time_entries/{entry}"))[0] == 404
    submission = next(iter(records["timesheet_submissions"]))
    for action, status_name in (("approve", "approved"), ("reject", "rejected")):
        path = f"timesheet_submissions/{submission}/{action}"
        status, body = await send(fake, "PUT", path, {"resolution": {"description": "ok"}})
        assert status == 200
        assert body["timesheet_submissions"][submission]["status"] == status_name


async def test_delete_by_ids_and_an_action_it_does_not_model(fake: FakeKantata) -> None:
    records = fake.dataset.records
    two = list(records["expenses"])[:2]
    assert (await send(fake, "DELETE", "expenses?ids=" + ",".join(two)))[0] == 200
    assert not set(two) & set(records["expenses"])
    status, body = await send(fake, "PUT", "workspaces/1/toggle_time_approvals")
    assert status == 501 and "toggle_time_approvals" in body["errors"][0]["message"]


async def test_a_nested_route_answers_within_its_parent(fake: FakeKantata) -> None:
    rows = fake.dataset.records["rate_card_table_rows"].values()
    version = str(next(iter(rows))["rate_card_set_version_id"])
    status, body = await send(fake, "GET", f"rate_card_set_versions/{version}/rate_card_table_rows")
    assert status == 200 and body["count"] > 0
    expected = {r["id"] for r in rows if str(r["rate_card_set_version_id"]) == version}
    assert {r["id"] for r in body["results"]} == expected
    status, body = await send(fake, "GET", "rate_card_set_versions/999999/rate_card_table_rows")
    assert status == 404 and "RateCardSetVersion" in body["errors"][0]["message"]


async def test_lists_that_are_no_envelope_answer_plain_json(fake: FakeKantata) -> None:
    for path, key in (("currencies", "currencies"), ("story_follows", "followers")):
        status, body = await send(fake, "GET", path)
        assert status == 200 and isinstance(body, list)
        assert sorted(r["id"] for r in body) == sorted(fake.dataset.records[key])
    story, follower = "1", "2"
    status, body = await send(
        fake, "POST", "story_follows", {"story_follow": {"story_id": 1, "follower_id": 2}}
    )
    assert status == 200 and (body["story_id"], body["follower_id"]) == (story, follower)


async def test_an_enum_of_numbers_takes_its_numbers(fake: FakeKantata) -> None:
    # `time_rollup_type` is documented with `enum: [0, 1, 2]`: a number in the enum was
    # refused, and the refusal's message failed to build (a 500).
    path = "client_invoice_defaults"
    status, body = await send(
        fake, "POST", path, {"client_invoice_default": {"time_rollup_type": 2}}
    )
    assert status == 200
    [result] = body["results"]
    assert body["client_invoice_defaults"][result["id"]]["time_rollup_type"] == 2
    for bad in (7, True, "two"):
        status, body = await send(
            fake, "POST", path, {"client_invoice_default": {"time_rollup_type": bad}}
        )
        assert status == 422, bad
        assert body["errors"][0]["message"] == "Time rollup type must be one of 0, 1, 2"
