"""Review findings: each test FAILS on main at the time of the review (a real bug).

Every test runs against a real local `FakeKantata` (no mocks of aiohttp). The docstring of
each says what the README (or the SDK's stated promises) requires, and what happens instead.
The promises checked:

- everything raised derives from `KantataError`, or is a `ValueError` / `TypeError` for a bad
  caller argument, raised before any request is sent;
- nothing is lost or duplicated silently;
- the token never appears in any error, log line or repr;
- a `with_options` view shares the client's session, graph and limits, and its
  `max_concurrency` can lower a ceiling, never raise it.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import AsyncIterator
from datetime import date
from pathlib import PurePosixPath

import aiohttp
import pytest

from kantata_async import (
    KantataClient,
    KantataError,
    PayloadError,
    ResponseValidationError,
    RetryPolicy,
)
from kantata_async.testing import FakeKantata

INSTANT = RetryPolicy.instant(max_retries=0)


@pytest.fixture
async def fake() -> AsyncIterator[FakeKantata]:
    async with FakeKantata(users=40, seed=11) as server:
        yield server


@pytest.fixture
async def client(fake: FakeKantata) -> AsyncIterator[KantataClient]:
    async with KantataClient(fake.token, base_url=fake.base_url, retry=INSTANT) as c:
        yield c


def _envelope_of_me(me_id: str, **meta: object) -> dict[str, object]:
    """A one-user list envelope, as `fake.fail_next(200, body=...)` serves it."""
    return {
        "count": 1,
        "meta": {"count": 1, "page_count": 1, "page_size": 20, "page_number": 1, **meta},
        "results": [{"key": "users", "id": me_id}],
        "users": {me_id: {"id": me_id, "full_name": "Me"}},
    }


# -- timeouts -----------------------------------------------------------------------------


async def test_an_infinite_timeout_is_refused_upfront_or_means_no_limit(
    client: KantataClient,
) -> None:
    """`Timeout` accepts `float("inf")` (`inf > 0`), but aiohttp cannot schedule it:
    `math.ceil(loop.time() + inf)` raises a bare `OverflowError` from inside the request,
    which `map_aiohttp_errors` does not map. Expected: `ValueError` from `Timeout`/
    `Timeout.of` (a bad argument, before any request), or the call succeeding with no limit.
    Observed: `OverflowError` (not a KantataError, not a ValueError) on every call made
    with `timeout=float("inf")` (per call, `with_options` or `KantataClient(timeout=...)`).
    Root cause: `_options._seconds` / `Timeout.of` accept non-finite numbers."""
    try:
        me = await client.users.me(timeout=float("inf"))
    except ValueError:
        return  # refused as a bad argument: fine
    except BaseException as err:
        pytest.fail(f"timeout=inf raised {type(err).__name__}: {err}")
    assert me.id


# -- extra_headers ----------------------------------------------------------------------------


async def test_extra_headers_cannot_set_transfer_encoding(fake: FakeKantata) -> None:
    """README: extra headers "cannot replace what the call sets itself ... that is a
    ValueError"; `_OWN_HEADERS` says the client owns "the framing of the bodies it encodes".
    `Transfer-Encoding` is framing, but only `Content-Length`/`Content-Type` are refused:
    `extra_headers={"Transfer-Encoding": "chunked"}` on a GET makes the server wait for a
    chunked body that never comes, so the call hangs for the whole timeout (and each retry)
    and ends as `APITimeoutError`. Expected: `ValueError` before any request.
    Root cause: `_options._OWN_HEADERS` / `_pairs`."""
    async with KantataClient(fake.token, base_url=fake.base_url, retry=INSTANT) as client:
        with pytest.raises(ValueError, match="extra_headers"):
            await client.users.me(extra_headers={"Transfer-Encoding": "chunked"}, timeout=1)
    assert fake.requests == []


@pytest.mark.parametrize("name", ["X(A)", "X/A", "X@A", "X{A}", 'X"A'])
async def test_a_header_name_that_is_not_a_token_is_refused_before_sending(
    fake: FakeKantata, name: str
) -> None:
    """README/tests: `extra_headers={"X A": "v"}` is a `ValueError` ("is not a header
    name") before any request. A name with another character that RFC 9110 does not allow
    in a field name (`(`, `/`, `@`, `{`, `"`) passes the check (it only refuses spaces,
    colons, control and non-ASCII characters), is sent, and the server answers 400:
    `BadRequestError` after a request went out. Expected: `ValueError`, nothing sent.
    Root cause: `_options._pairs` (no `tchar` check on header names)."""
    async with KantataClient(fake.token, base_url=fake.base_url, retry=INSTANT) as client:
        with pytest.raises(ValueError, match="extra_headers"):
            await client.users.me(extra_headers={name: "v"})
    assert fake.requests == []


async def test_extra_headers_cannot_silently_replace_accept(
    fake: FakeKantata, client: KantataClient
) -> None:
    """The SDK sends `Accept: application/json` on every request and can only read JSON;
    README: extras "cannot replace what the call sets itself ... never a silent override".
    `extra_headers={"Accept": "text/csv"}` (any case) silently replaces it. Expected:
    `ValueError` (as for `Authorization`/`Content-Type`). Observed: the request goes out
    with `Accept: text/csv`. Root cause: `_options._OWN_HEADERS` lacks `accept`
    (`Transport._send` merges the extras over the client's headers)."""
    with pytest.raises(ValueError, match="extra_headers"):
        await client.users.me(extra_headers={"accept": "text/csv"})
    assert [r.header("Accept") for r in fake.requests] == []


# -- extra_query ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra", [{"per_page": "5"}, {"apply_default_filters": "true"}], ids=["per_page", "adf"]
)
async def test_extra_query_clashing_with_nested_includes_fails_before_any_request(
    fake: FakeKantata, client: KantataClient, extra: dict[str, str]
) -> None:
    """README: an extra query parameter the call sets itself is a `ValueError`, "before
    any request is sent" for bad arguments. A list with a nested include checks the clash
    only when the nested `only=` batch is built: page 1 (and, for `per_page`, every page)
    is fetched first, then the walk dies with `ValueError` half-way. Expected: the walk
    completes, or `ValueError` with no request sent. Observed: ValueError after 2 (or, with
    `per_page`, 8) requests. Root cause: `Options.params` is applied per request in
    `Transport.request`; `Resource._fetch_by_ids` sets `per_page`/`apply_default_filters`
    that `list()` did not set, and nothing checks the extras against them up front."""
    try:
        listing = client.users.list(
            on_my_account=True, include=["account_membership.skill_memberships"], extra_query=extra
        )
        users = [u async for u in listing]
    except ValueError:
        assert fake.requests == [], f"ValueError after {len(fake.requests)} requests"
    else:
        assert users


async def test_a_write_never_succeeds_then_raises_valueerror_for_its_extras(
    fake: FakeKantata, client: KantataClient
) -> None:
    """Writes are not retried by the caller if they raised `ValueError` (a bad argument:
    "nothing was sent"). `workweek_memberships.create(..., extra_query={"include":
    "workweek"})` POSTs (the record is created, 200), then `_after_write` lists the
    user's memberships again with the same per-call options; that list sets `include`
    itself (the held memberships have their workweek loaded), and `Options.params` raises
    `ValueError` after the write. The caller loses the created record and, retrying,
    creates a duplicate. Expected: `ValueError` before the POST, or the create returning
    the record. Root cause: `WorkweekMemberships._refresh_timeline` reuses the call's
    `extra_query` (via `self.list`) after the write; the clash is only checked per request."""
    me = await client.users.me()
    held = [
        w async for w in client.workweek_memberships.list(user_ids=[me.id], include=["workweek"])
    ]
    assert held  # the graph holds memberships of this user, with their workweek loaded
    start = date(2030, 1, 6)  # a Sunday
    assert start.weekday() == 6
    before = len(fake.requests)
    try:
        created = await client.workweek_memberships.create(
            user_id=me.id, start_date=start, monday_minutes=480, extra_query={"include": "workweek"}
        )
    except ValueError as err:
        posts = [r for r in fake.requests[before:] if r.method == "POST"]
        assert posts == [], f"ValueError ({err}) after the write was made: {posts}"
    else:
        assert created.start_date == start


# -- raw calls --------------------------------------------------------------------------------


async def test_a_raw_param_that_cannot_be_encoded_is_a_valueerror_not_a_redirect(
    fake: FakeKantata, client: KantataClient
) -> None:
    """`client.post("...", params={"x": float("nan")})`: yarl refuses the value with a bare
    `ValueError` while aiohttp builds the URL; `map_aiohttp_errors` takes every bare
    ValueError for a redirect to a URL with credentials and raises `RedirectError` ("cannot
    follow the redirect"), an `APIConnectionError` with `request_sent=True`, whose message
    on a POST says "The request was sent, so the write may have happened". Nothing was
    sent. Expected: `ValueError`/`TypeError` (a bad argument) before any request.
    Root cause: `_raw.RawCalls` does not check `params`; `_http_errors._mapped` maps any
    `ValueError` to `RedirectError`."""
    with pytest.raises((ValueError, TypeError)) as caught:
        await client.post("time_entries", json={"time_entry": {}}, params={"x": float("nan")})  # type: ignore[dict-item]
    assert not isinstance(caught.value, KantataError), str(caught.value)
    assert fake.requests == []


@pytest.mark.parametrize("path", [7, None, ["users"], PurePosixPath("users/me")], ids=repr)
async def test_a_raw_path_that_is_not_a_str_is_a_valueerror_or_typeerror(
    fake: FakeKantata, client: KantataClient, path: object
) -> None:
    """Promise: a bad caller argument is a `ValueError` or `TypeError`, raised before any
    request. `client.get_json(7)` (or None, a list of segments, a `PurePosixPath`) raises
    `AttributeError: 'int' object has no attribute 'strip'`. Root cause: `_raw._segments`
    calls `path.strip` without checking that `path` is a str."""
    with pytest.raises((ValueError, TypeError)):
        await client.get_json(path)  # type: ignore[arg-type]
    assert fake.requests == []


# -- errors and the token -------------------------------------------------------------------


async def test_an_unreadable_page_count_is_a_response_validation_error(
    fake: FakeKantata, client: KantataClient
) -> None:
    """README error table: "a 2xx body that is not the JSON expected" is
    `ResponseValidationError` (an `APIError` with `method`/`path`/`status`). A list page whose
    `meta.count` is not a number raises a bare `PayloadError` (no method, path or status)
    from `page_from_envelope`, both for `await list()` and for `async for` (whose `_facts`
    is written to tolerate such a `meta` and go on). Expected: `ResponseValidationError`
    (or, for the walk, going on as `_facts` intends). Root cause: `_listing.build` calls
    `page_from_envelope` -> `_page._counts`, whose `PayloadError` is not wrapped as
    `Resource._merge` wraps the merge's."""
    me = await client.users.me()
    fake.fail_next(200, path="users", method="GET", body=_envelope_of_me(me.id, count="many"))
    with pytest.raises(ResponseValidationError) as caught:
        await client.users.list()
    assert not isinstance(caught.value, PayloadError)
    assert caught.value.path == "users"


async def test_a_walk_stops_with_a_typed_error_when_meta_is_unreadable(
    fake: FakeKantata, client: KantataClient
) -> None:
    """Counts in `meta` that are not numbers mean a server (or a proxy) the walk cannot
    trust to say where the list ends: `async for` stops with `ResponseValidationError`
    naming the path, not a bare `PayloadError` (a page without `meta` at all is still read
    as one page)."""
    me = await client.users.me()
    fake.fail_next(200, path="users", method="GET", body=_envelope_of_me(me.id, count="many"))
    with pytest.raises(ResponseValidationError, match="unreadable pagination counts") as caught:
        [u.id async for u in client.users.list()]
    assert caught.value.path == "users"


async def test_unreadable_meta_never_quotes_the_token(
    fake: FakeKantata, client: KantataClient
) -> None:
    """README: "The token never appears in an error ... text the server sends back is
    redacted before it reaches an error". A server that echoes the request (here, the
    token) into `meta` gets it quoted verbatim in the `PayloadError` message
    ("unreadable pagination counts in 'meta': {...}"). Root cause: `_page._counts` quotes
    `meta!r` and the error is not passed through the transport's `Redactor`."""
    me = await client.users.me()
    body = _envelope_of_me(me.id, count=f"Bearer {fake.token}")
    fake.fail_next(200, path="users", method="GET", body=body)
    with pytest.raises(KantataError) as caught:
        await client.users.list()
    assert fake.token not in str(caught.value)


async def test_stray_ids_of_a_list_by_ids_are_redacted(
    fake: FakeKantata, client: KantataClient
) -> None:
    """`Resource._check_asked` quotes the ids the server answered that were not asked for
    ("the answer holds others (...)") without redacting them; every other message quoting
    the server goes through `api.redact`. A server echoing the token as an id puts the
    token in the `ResponseValidationError`. Root cause: `resources/_base.py`,
    `Resource._check_asked`."""
    me = await client.users.me()
    token = fake.token
    body = {"count": 1, "results": [{"key": "users", "id": token}], "users": {token: {"id": token}}}
    fake.fail_next(200, path="users", method="GET", body=body)
    with pytest.raises(ResponseValidationError) as caught:
        await client.users.list(only=[me.id])
    assert token not in str(caught.value)


async def test_a_content_type_echoing_the_token_is_redacted(
    fake: FakeKantata, client: KantataClient
) -> None:
    """A 2xx answer that is not JSON raises `ResponseValidationError("expected JSON, got
    <content type>: <body>")`; the body is redacted, the `Content-Type` the server sent is
    quoted as it came (`err.headers` is redacted, the message is not). Root cause:
    `Transport._decode` formats `content_type` without `self._redact`."""
    fake.fail_next(200, path="users/me", body="hello", content_type=f"text/plain; x={fake.token}")
    with pytest.raises(ResponseValidationError) as caught:
        await client.users.me()
    assert fake.token not in str(caught.value)


@pytest.mark.parametrize("raw", [False, True], ids=["resource", "raw"])
async def test_a_traceback_never_shows_the_token(
    fake: FakeKantata, client: KantataClient, raw: bool
) -> None:
    """`_http_errors.RedactedCause` exists because "a traceback prints the cause's text, so
    the original cannot be chained". `Resource._merge` and `RawCalls._records` redact the
    `PayloadError` text into the `ResponseValidationError` but chain the original
    (`raise ... from err`), so the printed traceback quotes the token when the server echoed
    it (here as a record id in `results`). Expected: no token anywhere in
    `traceback.format_exception(err)`. Root cause: `raise ... from err` in
    `resources/_base.py` `_merge` and `_raw.py` `_records`."""
    path = "users" if raw else "users/me"
    fake.fail_next(200, path=path, body={"results": [{"key": "users", "id": fake.token}]})
    with pytest.raises(ResponseValidationError) as caught:
        if raw:
            await client.get("users")
        else:
            await client.users.me()
    assert fake.token not in str(caught.value)
    assert fake.token not in "".join(traceback.format_exception(caught.value))


async def test_log_lines_never_show_the_token(
    fake: FakeKantata, client: KantataClient, caplog: pytest.LogCaptureFixture
) -> None:
    """README: "The token never appears in ... a log line: text the server sends back ...
    is redacted before it reaches an error or a log". Two warnings quote server text as it
    came: `_envelope.check_envelope` ("skipping N record(s) under 'users' that are not JSON
    objects (ids '<token>')") and `_links.malformed` ("ignoring a link to roles: {...} is
    not an id"). Root cause: those `log.warning` calls get no `Redactor` (the graph has
    none)."""
    me = await client.users.me()
    token = fake.token
    record = {"id": me.id, "role_id": {"echo": token}}
    body = {
        "count": 1,
        "results": [{"key": "users", "id": me.id}],
        "users": {me.id: record, token: 5},
    }
    fake.fail_next(200, path="users/me", body=body)
    with caplog.at_level(logging.DEBUG, logger="kantata_async"):
        await client.users.me()
    leaked = [r.getMessage() for r in caplog.records if token in r.getMessage()]
    assert leaked == []


# -- configuration ------------------------------------------------------------------------------


async def test_a_base_url_with_trailing_spaces_is_refused_or_stripped(
    fake: FakeKantata, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`KANTATA_BASE_URL="https://.../api/v1/  "` (a copy-paste with trailing blanks):
    leading blanks and a trailing newline are dropped by yarl, but trailing spaces become a
    path segment: the client sends `GET /api/v1/%20%20/users/me` and every call is a 404.
    Expected: a `ValueError` at construction, or the blanks stripped. Root cause:
    `_urls.checked_base_url` (appends "/" to the path "/api/v1/  ")."""
    monkeypatch.setenv("KANTATA_TOKEN", fake.token)
    monkeypatch.setenv("KANTATA_BASE_URL", f"{fake.base_url}  ")
    try:
        client = KantataClient(retry=INSTANT)
    except ValueError:
        return
    async with client:
        me = await client.users.me()
    assert me.id == fake.me
    assert [r.path for r in fake.requests] == ["users/me"]


@pytest.mark.parametrize(
    "base_url",
    ["user:hunter2@example.com/api/v1/", "mailto:user:hunter2@example.com"],
)
def test_a_base_url_with_a_password_is_never_echoed(
    base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README: a `base_url` with `user:password@` is a `ValueError` "naming the problem
    without echoing the secret". Without a scheme (`user:hunter2@example.com/...`, read by
    yarl as scheme `user`), `raw_user` is None, so the URL passes the credentials check and
    the next one quotes it whole: "base_url must be an http(s) URL, got
    'user:hunter2@example.com/api/v1/'". Root cause: `_urls.checked_base_url` echoes
    `str(base_url)` in the scheme error."""
    monkeypatch.setenv("KANTATA_BASE_URL", base_url)
    with pytest.raises(ValueError) as caught:
        KantataClient("a-token")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("max_retries", [True, 2.5], ids=repr)
def test_the_client_checks_max_retries_as_with_options_does(max_retries: object) -> None:
    """`client.with_options(max_retries=True)` (or 2.5) is a `ValueError` ("max_retries
    must be an int >= 0"), but `KantataClient(max_retries=True)` / `2.5` is accepted as
    is (`RetryPolicy` has no type check): 2.5 silently means 3 retries, True one. Expected: the
    same `ValueError` as `with_options`. Root cause: `KantataClient.__init__` passes
    `max_retries` to `RetryPolicy` unchecked; `RetryPolicy.__attrs_post_init__` checks
    only `< 0`."""
    with pytest.raises(ValueError, match="max_retries"):
        KantataClient("a-token", max_retries=max_retries)  # type: ignore[arg-type]


# -- with_options views ---------------------------------------------------------------------


async def test_a_view_of_a_view_cannot_raise_its_concurrency(fake: FakeKantata) -> None:
    """README: a view's `max_concurrency` "can lower the ceiling for its own requests, not
    raise it". A view of a view is checked against the root client's ceiling only:
    `client.with_options(max_concurrency=2).with_options(max_concurrency=4)` gets a fresh
    `Semaphore(4)` (and `max_concurrency=8` drops the limit altogether), so its requests go
    4 (or 8) at once. Expected: `ValueError` (as for 9 on the client), or no more than 2 in
    flight. Root cause: `KantataClient.with_options` compares with
    `self._root.max_concurrency` and replaces `self._api._limit` instead of nesting it."""
    in_flight = peak = 0

    async def hold(_: object) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.03)
        in_flight -= 1

    async with KantataClient(fake.token, base_url=fake.base_url, max_concurrency=8) as client:
        ids = [u.id async for u in client.users.list()][:8]
        assert len(ids) == 8
        fake.on_request = hold
        narrow = client.with_options(max_concurrency=2)
        try:
            wider = narrow.with_options(max_concurrency=4)
        except ValueError:
            return
        await asyncio.gather(*(wider.users.get(i) for i in ids))
    assert peak <= 2


# -- closing --------------------------------------------------------------------------------


async def test_calls_waiting_when_the_client_closes_raise_client_closed_error() -> None:
    """README error table: "the client used after `aclose()`" is `ClientClosedError`, and
    "no aiohttp exception reaches you". `_transport_for_call` checks `_closed` when a call
    starts, but a call that started before `aclose()` and is still waiting for a slot
    (`Admission.enter`) then calls `session.request` on the closed session, and aiohttp's
    bare `RuntimeError("Session is closed")` escapes (`map_aiohttp_errors` does not map
    RuntimeError). Expected: every call fails with a `KantataError` (`ClientClosedError`).
    Root cause: `Transport.request`/`_send` never check `self._session.closed` after the
    wait; `_http_errors._mapped` returns None for RuntimeError."""
    async with FakeKantata(users=40, seed=11, latency=0.05) as fake:
        client = KantataClient(fake.token, base_url=fake.base_url, retry=INSTANT, max_concurrency=1)
        async with client:
            calls = [client.users.me(extra_headers={"X-N": str(n)}) for n in range(4)]
            pending = asyncio.gather(*calls, return_exceptions=True)
            await asyncio.sleep(0.02)  # the first is in flight, the others wait for its slot
            await client.aclose()
            results = await pending
    escaped = [f"{type(r).__name__}: {r}" for r in results if not isinstance(r, KantataError)]
    assert escaped == []


async def test_calls_waiting_when_the_callers_session_closes_raise_client_closed_error() -> None:
    """README: a caller's session that is closed is `ClientClosedError`. Calls started
    before the caller's `aiohttp.ClientSession` closes (an app shutting down) and still
    waiting for a slot go on to the closed session: aiohttp's bare
    `RuntimeError("Session is closed")` escapes (the same happens to a walk whose pages
    are retried after the close). Expected: a KantataError (`ClientClosedError`) for each.
    Root cause: as above (`Transport._send`, `_http_errors._mapped`)."""
    async with (
        FakeKantata(users=40, seed=11, latency=0.05) as fake,
        aiohttp.ClientSession() as session,
    ):
        client = KantataClient(
            fake.token, base_url=fake.base_url, retry=INSTANT, session=session, max_concurrency=1
        )
        calls = [client.users.me(extra_headers={"X-N": str(n)}) for n in range(4)]
        pending = asyncio.gather(*calls, return_exceptions=True)
        await asyncio.sleep(0.02)
        await session.close()
        results = await pending
    escaped = [f"{type(r).__name__}: {r}" for r in results if not isinstance(r, KantataError)]
    assert escaped == []
