"""Every collection the fake serves: each documented filter changes the list, or is refused.

`test_fake_filters.py` checks the two seed endpoints against oracles; this checks every
collection the fake declares, with values that must change the answer (a date far in the
future for an `_after` filter, an id nothing has, true against false), so that a filter
silently ignored is caught wherever it is. Also: routes documented and not modelled, the
switch that ignores instead of refusing, and documented orders and includes.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

import pytest
from conftest import call

from kantata_async.testing import Dataset, FakeKantata, FakeKantataProcess
from kantata_async.testing._collections import COLLECTIONS


def facts(key: str) -> dict[str, Any]:
    """The facts of the operation that lists `key` (`GET /<its path>`)."""
    path = "/" + COLLECTIONS[key].path
    folder = resources.files("kantata_async.testing").joinpath("facts")
    for entry in folder.iterdir():
        if entry.name.endswith(".json"):
            for op in json.loads(entry.read_text())["operations"]:
                if (op["method"], op["path"]) == ("GET", path):
                    return dict(op)
    raise LookupError(key)


# Lists with no path parameter (the rows of a rate card set version are walked elsewhere).
SERVED = sorted(key for key, c in COLLECTIONS.items() if ("GET", "") in c.routes and not c.parents)
# The seed endpoints are checked against oracles in test_fake_filters.py.
CASES = [
    (key, name)
    for key in SERVED
    if key not in ("users", "workweek_memberships")
    for name in sorted(facts(key).get("query", {}))
]


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset(users=80, seed=13)


@pytest.fixture
async def fake(dataset: Dataset) -> AsyncIterator[FakeKantata]:
    async with FakeKantata(dataset=dataset) as server:
        yield server


async def request(fake: FakeKantata, method: str, path: str, **params: str) -> tuple[int, Any]:
    """The status and the decoded body (None when empty)."""
    reply = await call(fake, method, path, params=params)
    return reply.status, reply.json() if reply.body else None


async def answer(fake: FakeKantata, key: str, **params: str) -> tuple[int, Any]:
    """The status and, when 200, `(count, ids of the first page)`."""
    status, body = await request(fake, "GET", COLLECTIONS[key].path, per_page="200", **params)
    if status != 200:
        return status, body
    if isinstance(body, list):  # a list that is no envelope
        return status, (len(body), [r["id"] for r in body])
    return status, (body["count"], [r["id"] for r in body["results"]])


def probe_value(key: str, name: str, fact: dict[str, Any], fake: FakeKantata) -> str | None:
    """A value that must change the answer of a filter that is applied (None: a boolean)."""
    if fact.get("type") == "boolean":
        return None
    if name.endswith("_after"):
        return "2999-01-01T00:00:00Z"
    if name.endswith("_before"):
        return "1999-01-01T00:00:00Z"
    if name == "effective_date":
        return "1900-01-01"
    if name == "except":
        return min(fake.dataset.records[key], key=int)
    if name == "unassigned_skills_for_user":
        return fake.me
    if name == "without_external_reference_service_name":
        # A service that some record of the key has a reference in.
        records = fake.dataset.records
        refs = [i for r in records[key].values() for i in r.get("external_reference_ids") or ()]
        return str(records["external_references"][refs[0]]["service_name"]) if refs else "lms"
    if name.endswith("_between"):
        return "1900-01-01:1900-01-02"
    if name == "with_skills":
        return "{'999999':[]}"
    return "999999"


def test_every_served_collection_has_cases() -> None:
    assert {"users", "workweek_memberships", "account_memberships", "skills"} <= set(SERVED)
    assert "work_samples" not in SERVED  # Kantata documents no route for them
    assert len(CASES) > 90


@pytest.mark.parametrize(("key", "name"), CASES)
async def test_each_documented_filter_changes_the_answer_or_is_refused(
    fake: FakeKantata, key: str, name: str
) -> None:
    fact = facts(key)["query"][name]
    status, unfiltered = await answer(fake, key)
    assert status == 200 and unfiltered[0] > 0
    if fact.get("enum"):
        # One of the documented values at least must change the answer.
        answers = [await answer(fake, key, **{name: v}) for v in fact["enum"]]
        if {s for s, _ in answers} == {501}:
            return
        assert {s for s, _ in answers} == {200}, answers
        assert any(b != unfiltered for _, b in answers), f"{key}?{name} was ignored"
        return
    value = probe_value(key, name, fact, fake)
    if value is None:
        outcomes = {v: await answer(fake, key, **{name: v}) for v in ("true", "false")}
        statuses = {s for s, _ in outcomes.values()}
        if statuses == {501}:
            return
        assert statuses == {200}, outcomes
        bodies = [b for _, b in outcomes.values()]
        assert bodies[0] != bodies[1] or unfiltered not in bodies, f"{key}?{name} was ignored"
        return
    status, filtered = await answer(fake, key, **{name: value})
    if status == 501:
        assert filtered["errors"][0]["message"].startswith(
            f"FakeKantata does not model filter '{name}'"
        )
        return
    assert status == 200, filtered
    assert filtered != unfiltered, f"{key}?{name}={value} was ignored"


async def test_a_documented_route_the_fake_does_not_serve_is_501(fake: FakeKantata) -> None:
    status, body = await request(fake, "GET", "workspaces/5/permissions")
    assert status == 501
    assert body == {
        "errors": [
            {
                "type": "system",
                "message": "FakeKantata does not model GET /workspaces/{id}/permissions",
            }
        ]
    }
    status, body = await request(fake, "PUT", "account_memberships/3/disable")
    assert status == 501 and "PUT /account_memberships/{id}/disable" in body["errors"][0]["message"]
    # Not documented at all: Rails' 404.
    assert (await request(fake, "GET", "no_such_things"))[0] == 404


async def test_the_switch_ignores_what_is_not_modelled_instead(fake: FakeKantata) -> None:
    assert (await answer(fake, "users", matching="ann"))[0] == 501
    assert (await answer(fake, "posts", include="google_documents"))[0] == 501
    fake.ignore_unmodelled = True
    assert await answer(fake, "users", matching="ann") == await answer(fake, "users")
    assert (await answer(fake, "posts", include="google_documents"))[0] == 200
    # Routes are not filters: a route the fake does not serve stays a 501.
    assert (await request(fake, "GET", "invoices/next_invoice_number"))[0] == 501
    async with FakeKantata(users=5, ignore_unmodelled=True) as lenient:
        assert (await answer(lenient, "users", with_organizations="true"))[0] == 200


def _sort_key(value: Any, fold: bool) -> tuple[bool, Any]:
    if fold and isinstance(value, str):
        value = value.casefold()
    return (value is not None, value if value is not None else 0)


async def test_every_documented_order_sorts(fake: FakeKantata) -> None:
    sorted_by_field = 0
    for key in SERVED:
        op = facts(key)
        for order in op.get("order", []):
            status, body = await request(
                fake, "GET", COLLECTIONS[key].path, per_page="200", order=order
            )
            name, _, direction = order.partition(":")
            assert status in (200, 501), (key, order, body)
            if status == 501:
                assert body["errors"][0]["message"].startswith(
                    f"FakeKantata does not model order '{name}'"
                )
                continue
            records = (
                body if isinstance(body, list) else [body[key][r["id"]] for r in body["results"]]
            )
            values = [r.get(name) for r in records]
            if name not in (records[0] if records else {}) or len(set(map(repr, values))) < 2:
                continue  # an order named for what it means, or nothing to tell apart
            if any(isinstance(v, dict | list) for v in values):
                continue
            ordered = [
                sorted(values, key=lambda v: _sort_key(v, fold), reverse=direction == "desc")
                for fold in (False, True)
            ]
            assert values in ordered, (key, order)
            sorted_by_field += 1
    assert sorted_by_field > 150  # 210 when written


async def test_every_documented_include_is_served_or_refused(fake: FakeKantata) -> None:
    for key in SERVED:
        for name, include in facts(key).get("include", {}).items():
            status, body = await request(
                fake, "GET", COLLECTIONS[key].path, per_page="5", include=name
            )
            if status == 501:
                assert f"include '{name}'" in body["errors"][0]["message"]
                continue
            assert status == 200, (key, name, body)
            if include.get("target_key"):
                assert include["target_key"] in body, (key, name)
            for result in body["results"]:  # sideloads of the same key carry no ids
                assert include["field"] in body[key][result["id"]], (key, name)


def test_the_switch_reaches_a_server_in_its_own_process() -> None:
    def status(server: FakeKantataProcess) -> int:
        request = urllib.request.Request(
            server.base_url + "users?matching=ann",
            headers={"Authorization": f"Bearer {server.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as err:
            return err.code

    with FakeKantataProcess(users=5, ignore_unmodelled=True) as lenient:
        assert status(lenient) == 200
    with FakeKantataProcess(users=5) as strict:
        assert status(strict) == 501
