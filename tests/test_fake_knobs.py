"""FakeKantata's knobs (faults, latency, hooks), its recording, lifecycle and command line."""

from __future__ import annotations

import asyncio
import json
import math
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest
from fake_api import Api, alphabetical, errors, result_ids, users_of

from kantata_async.testing import Dataset, FakeKantata, RecordedRequest
from kantata_async.testing.__main__ import main as cli_main


@pytest.fixture
async def fake() -> AsyncIterator[FakeKantata]:
    async with FakeKantata(users=60, seed=3) as server:
        yield server


# -- knobs: scripted faults -----------------------------------------------------------------


async def test_fail_next_429_with_retry_after_then_serves_again(
    fake: FakeKantata, api: Api
) -> None:
    fake.fail_next(429, times=2, retry_after=3)
    for _ in range(2):
        reply = await api.get("users")
        assert reply.status == 429 and reply.headers["Retry-After"] == "3"
        assert errors(reply)[0]["type"] == "system"
    assert (await api.get("users")).status == 200
    assert [r.status for r in fake.requests] == [429, 429, 200]
    assert fake.pending_faults == 0


async def test_fail_next_retry_after_as_an_http_date(fake: FakeKantata, api: Api) -> None:
    fake.fail_next(429, retry_after="Wed, 21 Oct 2026 07:28:00 GMT")
    reply = await api.get("users")
    assert reply.headers["Retry-After"] == "Wed, 21 Oct 2026 07:28:00 GMT"
    fake.fail_next(429)
    assert "Retry-After" not in (await api.get("users")).headers


async def test_fail_next_matches_path_prefixes_and_methods(fake: FakeKantata, api: Api) -> None:
    fake.fail_next(503, path="/api/v1/users.json", method="get")
    assert (await api.get("workweek_memberships")).status == 200
    assert (await api.get("users_x")).status == 404  # not under users/
    reply = await api.get("users/3/capacity", start_date="2025-03-02", end_date="2025-03-02")
    assert reply.status == 503
    assert reply.json() == {"errors": [{"type": "system", "message": "Service is unavailable"}]}
    fake.fail_next(500, method="PUT")
    assert (await api.get("users")).status == 200
    assert fake.pending_faults == 1
    fake.clear_faults()
    assert fake.pending_faults == 0


async def test_scripted_faults_queue_in_call_order(fake: FakeKantata, api: Api) -> None:
    fake.fail_next(503)
    fake.malformed_next("html")
    fake.fail_next(429)
    statuses = [(await api.get("roles")).status for _ in range(4)]
    assert statuses == [503, 200, 429, 200]


async def test_502_is_an_html_page_and_custom_bodies_are_sent_as_given(
    fake: FakeKantata, api: Api
) -> None:
    fake.fail_next(502)
    gateway = await api.get("users")
    assert gateway.status == 502
    assert gateway.headers["Content-Type"].startswith("text/html")
    assert b"502 Bad Gateway" in gateway.body
    fake.fail_next(400, body={"error_message": "nope"})
    custom = await api.get("users")
    assert (custom.status, custom.json()) == (400, {"error_message": "nope"})
    fake.fail_next(418, body="short and stout", content_type="text/x-teapot")
    teapot = await api.get("users")
    assert (teapot.status, teapot.body) == (418, b"short and stout")
    assert teapot.headers["Content-Type"] == "text/x-teapot"
    fake.fail_next(401)
    assert errors(await api.get("users"))[0]["type"] == "oauth"


async def test_a_failed_write_changes_nothing(fake: FakeKantata, api: Api) -> None:
    fake.fail_next(503, path="users")
    reply = await api.call("PUT", "users/3", json={"user": {"full_name": "Never"}})
    assert reply.status == 503
    assert users_of(fake)["3"]["full_name"] != "Never"
    assert fake.requests[-1].json == {"user": {"full_name": "Never"}}


async def test_fault_knobs_reject_nonsense(fake: FakeKantata) -> None:
    with pytest.raises(ValueError, match="status"):
        fake.fail_next(99)
    with pytest.raises(ValueError, match="times"):
        fake.drop_next(times=0)
    with pytest.raises(ValueError, match="kind"):
        fake.malformed_next("xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rates"):
        fake.random_faults(rate_429=0.7, rate_503=0.7)
    with pytest.raises(ValueError, match="latency"):
        fake.latency = -1


async def test_drop_next_closes_the_connection_without_an_answer(
    fake: FakeKantata, api: Api
) -> None:
    # aiohttp itself retries an idempotent request once after a disconnect: drop both tries.
    fake.drop_next(times=2, path="users")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.get("users")
    assert (await api.get("users")).status == 200
    statuses = [(r.path, r.status) for r in fake.requests]
    assert statuses == [("users", None), ("users", None), ("users", 200)]
    fake.drop_next()
    assert (await api.get("roles")).status == 200  # the silent retry
    assert [r.status for r in fake.requests[-2:]] == [None, 200]


async def test_drop_next_after_a_post_body_was_read(fake: FakeKantata, api: Api) -> None:
    fake.drop_next(path="workweek_memberships", after_request=True)
    count = len(fake.dataset.records["workweek_memberships"])
    body = {"workweek_membership": {"user_id": 3, "start_date": "2027-01-03"}}
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.call("POST", "workweek_memberships", json=body)
    [request] = fake.requests
    assert (request.method, request.json, request.status) == ("POST", body, None)
    assert len(fake.dataset.records["workweek_memberships"]) == count


async def test_drop_next_before_the_body_was_read(fake: FakeKantata, api: Api) -> None:
    fake.drop_next(times=2, after_request=False)
    with pytest.raises(aiohttp.ClientConnectionError):
        await api.call("PUT", "users/3", json={"user": {"full_name": "Never"}})
    assert [(r.body, r.json, r.status) for r in fake.requests] == [(b"", None, None)] * 2
    assert users_of(fake)["3"]["full_name"] != "Never"


async def test_malformed_json_is_a_200_that_does_not_parse(fake: FakeKantata, api: Api) -> None:
    fake.malformed_next("json", path="users")
    reply = await api.get("users")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):
        reply.json()


async def test_malformed_truncated_cuts_the_real_body_with_a_matching_length(
    fake: FakeKantata, api: Api
) -> None:
    whole = (await api.get("users", per_page="5")).body
    fake.malformed_next("truncated")
    reply = await api.get("users", per_page="5")
    assert reply.status == 200
    assert int(reply.headers["Content-Length"]) == len(reply.body) == len(whole) // 2
    assert whole.startswith(reply.body)
    with pytest.raises(ValueError):
        reply.json()


async def test_malformed_html_is_a_200_web_page(fake: FakeKantata, api: Api) -> None:
    fake.malformed_next("html", times=2)
    for _ in range(2):
        reply = await api.get("users")
        assert reply.status == 200
        assert reply.headers["Content-Type"].startswith("text/html")
        assert reply.body.lstrip().startswith(b"<!DOCTYPE html>")
    assert (await api.get("users")).headers["Content-Type"].startswith("application/json")


async def test_malformed_writes_are_still_applied(fake: FakeKantata, api: Api) -> None:
    fake.malformed_next("json", method="PUT")
    reply = await api.call("PUT", "users/3", json={"user": {"full_name": "Applied Anyway"}})
    assert reply.status == 200
    assert users_of(fake)["3"]["full_name"] == "Applied Anyway"


# -- knobs: random faults, count, latency, hooks ------------------------------------------


async def random_statuses(seed: int, requests: int) -> list[int | None]:
    async with (
        FakeKantata(users=5, seed=1) as fake,
        aiohttp.ClientSession() as session,
    ):
        api = Api(fake, session)
        fake.random_faults(rate_429=0.3, rate_503=0.2, rate_drop=0.1, retry_after=1, seed=seed)
        for _ in range(requests):
            try:
                reply = await api.get("roles")
            except aiohttp.ServerDisconnectedError:
                continue
            if reply.status != 200:
                assert reply.headers["Retry-After"] == "1"
        return [r.status for r in fake.requests]


async def test_random_faults_are_seeded_and_can_be_turned_off(fake: FakeKantata, api: Api) -> None:
    first = await random_statuses(seed=11, requests=40)
    assert first == await random_statuses(seed=11, requests=40)
    assert first != await random_statuses(seed=12, requests=40)
    assert {200, 429, 503, None} == set(first)
    fake.random_faults(rate_429=1.0)
    assert (await api.get("roles")).status == 429
    fake.random_faults()
    assert all([(await api.get("roles")).status == 200 for _ in range(5)])


async def test_count_offset_makes_the_reported_count_lie(fake: FakeKantata, api: Api) -> None:
    fake.count_offset = 5
    body = await api.ok("users", per_page="20")
    lying = len(alphabetical(fake)) + 5
    assert body["count"] == lying and len(body["results"]) == 20
    assert body["meta"] == {
        "count": lying,
        "page_count": math.ceil(lying / 20),
        "page_number": 1,
        "page_size": 20,
    }
    fake.count_offset = -100
    body = await api.ok("users")
    assert body["meta"]["count"] == 0 and body["meta"]["page_number"] == 0
    assert len(body["results"]) == 20  # the records are still there
    assert (await api.ok("users/3"))["count"] == 1  # show routes do not lie


async def test_latency_still_serves(fake: FakeKantata, api: Api) -> None:
    fake.latency = 0.01
    assert fake.latency == 0.01
    replies = await asyncio.gather(*(api.get("users", page=str(p)) for p in range(1, 4)))
    assert [r.status for r in replies] == [200, 200, 200]
    async with FakeKantata(users=3, latency=0.005) as slow:
        assert slow.latency == 0.005


async def test_on_request_can_insert_records_during_a_walk(fake: FakeKantata, api: Api) -> None:
    def insert_before_page_two(request: RecordedRequest) -> None:
        if request.query.get("page") == "2":
            fake.dataset.add_user("Aaa First")

    fake.on_request = insert_before_page_two
    page1 = await api.ok("users", page="1")
    page2 = await api.ok("users", page="2")
    assert page2["count"] == page1["count"] + 1
    assert result_ids(page2)[0] == result_ids(page1)[-1]  # everything shifted by one

    async def delete_async(request: RecordedRequest) -> None:
        await asyncio.sleep(0)
        if request.path == "users/5":
            fake.dataset.delete("users", "5")

    fake.on_request = delete_async
    assert (await api.get("users/5")).status == 404


# -- recording ------------------------------------------------------------------------------


async def test_requests_are_recorded_in_order_with_their_details(
    fake: FakeKantata, api: Api
) -> None:
    await api.call(
        "GET",
        "users.json",
        params=[("page", "1"), ("page", "2"), ("include", "role")],  # type: ignore[arg-type]
        headers={"X-Trace": "abc"},
    )
    await api.call("PUT", "users/3", json={"user": {"headline": "Hi"}})
    await api.call("GET", "users", auth=False)
    first, second, third = fake.requests
    assert (first.method, first.path) == ("GET", "users")
    assert first.query == {"page": "2", "include": "role"}
    assert first.query_string == "page=1&page=2&include=role"
    assert first.headers["x-trace"] == "abc" and first.header("X-TRACE") == "abc"
    assert first.header("authorization") == f"Bearer {fake.token}"
    assert (first.body, first.json, first.form, first.status) == (b"", None, None, 200)
    assert (second.method, second.path, second.status) == ("PUT", "users/3", 200)
    assert second.json == {"user": {"headline": "Hi"}}
    assert json.loads(second.body) == second.json
    assert third.status == 401 and third.header("authorization") is None
    assert fake.token not in repr(first)
    assert first.received_at <= second.received_at <= third.received_at
    fake.requests.clear()
    await api.get("roles")
    assert [r.path for r in fake.requests] == ["roles"]


# -- lifecycle ------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.com", "::"])
def test_only_loopback_hosts_are_accepted(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        FakeKantata(users=0, host=host)


async def test_lifecycle_and_base_url() -> None:
    fake = FakeKantata(users=2, host="localhost")
    with pytest.raises(RuntimeError, match="not running"):
        _ = fake.base_url
    await fake.start()
    try:
        assert fake.base_url == f"http://127.0.0.1:{fake.port}/api/v1/"
        with pytest.raises(RuntimeError, match="already running"):
            await fake.start()
    finally:
        await fake.close()
    await fake.close()
    with pytest.raises(RuntimeError):
        _ = fake.port


async def test_ipv6_loopback_url_has_brackets() -> None:
    try:
        fake = FakeKantata(users=1, host="::1")
        await fake.start()
    except OSError:  # no IPv6 on this machine: nothing to check
        return
    try:
        assert fake.base_url.startswith("http://[::1]:")
    finally:
        await fake.close()


async def test_same_seed_same_bytes() -> None:
    bodies = []
    for _ in range(2):
        async with FakeKantata(users=30, seed=9) as fake, aiohttp.ClientSession() as session:
            reply = await Api(fake, session).get("users", include="skills,role", per_page="30")
            bodies.append(reply.body)
    assert bodies[0] == bodies[1]


async def test_a_shared_dataset_can_back_a_server() -> None:
    data = Dataset(users=8, seed=2)
    async with FakeKantata(dataset=data) as fake, aiohttp.ClientSession() as session:
        assert fake.dataset is data
        assert (await Api(fake, session).ok("users"))["count"] == len(data.records["users"])


# -- the command line -----------------------------------------------------------------------


def test_cli_refuses_a_non_loopback_host(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["--host", "0.0.0.0", "--users", "1"]) == 2
    assert "loopback" in capsys.readouterr().err


async def test_cli_serves_until_sigterm() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kantata_async.testing",
        "--users",
        "5",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        url_line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
        token_line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
        base_url = url_line.removeprefix("KANTATA_BASE_URL=")
        token = token_line.removeprefix("KANTATA_TOKEN=")
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/api/v1/")
        assert token == FakeKantata(users=0, seed=0).token
        async with (
            aiohttp.ClientSession() as session,
            session.get(base_url + "users", headers={"Authorization": f"Bearer {token}"}) as r,
        ):
            assert (await r.json())["count"] == 5
    finally:
        if proc.returncode is None:
            proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err
