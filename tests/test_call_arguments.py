"""Bad call arguments are refused before anything is sent.

Every test runs against a real local `FakeKantata` (no mocks of aiohttp). The promises:

- a bad caller argument (a timeout, an extra header or query parameter, a raw path or
  parameter, `max_retries`, a `with_options` concurrency) is a `ValueError` or `TypeError`,
  never a `KantataError`, raised before any request is sent;
- an extra header or query parameter never replaces one the call sets itself, on any
  request of the call (a nested level, the refresh after a write);
- a `base_url` is read as meant (surrounding blanks dropped) and never echoed when it
  holds a password;
- a `with_options` view of a view can lower its concurrency, never raise it.
"""

from __future__ import annotations

from datetime import date
from pathlib import PurePosixPath

import pytest

from kantata_async import KantataClient, KantataError
from kantata_async.testing import FakeKantata

INFINITY = float("inf")


# -- timeouts -----------------------------------------------------------------------------


async def test_an_infinite_timeout_is_refused_before_any_request(
    fake: FakeKantata, client: KantataClient
) -> None:
    """`timeout=float("inf")` is a `ValueError` per call, for a view and for a client; None
    is how to ask for no limit."""
    with pytest.raises(ValueError, match="finite"):
        await client.users.me(timeout=INFINITY)
    with pytest.raises(ValueError, match="finite"):
        client.with_options(timeout=INFINITY)
    with pytest.raises(ValueError, match="finite"):
        KantataClient(fake.token, base_url=fake.base_url, timeout=INFINITY)
    assert fake.requests == []


# -- extra_headers ------------------------------------------------------------------------


async def test_extra_headers_cannot_set_transfer_encoding(
    fake: FakeKantata, client: KantataClient
) -> None:
    """`Transfer-Encoding` is framing the client owns: setting it is a `ValueError`, before
    any request."""
    with pytest.raises(ValueError, match="extra_headers"):  # sent, it would hang: timeout=1
        await client.users.me(extra_headers={"Transfer-Encoding": "chunked"}, timeout=1)
    assert fake.requests == []


@pytest.mark.parametrize("name", ["X(A)", "X/A", "X@A", "X{A}", 'X"A'])
async def test_a_header_name_that_is_not_a_token_is_refused_before_any_request(
    fake: FakeKantata, client: KantataClient, name: str
) -> None:
    """A header name with a character RFC 9110 does not allow in a field name is a
    `ValueError` naming the problem, before any request."""
    with pytest.raises(ValueError, match="is not a header name"):
        await client.users.me(extra_headers={name: "v"})
    assert fake.requests == []


async def test_extra_headers_cannot_replace_accept(
    fake: FakeKantata, client: KantataClient
) -> None:
    """The client asks for JSON, the only thing it reads: an `Accept` extra header (in any
    case) is a `ValueError`, before any request."""
    with pytest.raises(ValueError, match="extra_headers"):
        await client.users.me(extra_headers={"accept": "text/csv"})
    assert fake.requests == []


# -- extra_query --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra", [{"per_page": "5"}, {"apply_default_filters": "true"}], ids=["per_page", "adf"]
)
async def test_an_extra_query_parameter_a_nested_level_sets_is_refused_before_any_request(
    fake: FakeKantata, client: KantataClient, extra: dict[str, str]
) -> None:
    """A parameter the walk sets itself on a nested level's requests (`per_page`,
    `apply_default_filters`) is a `ValueError` before page 1, not half-way through."""
    include = ["account_membership.skill_memberships"]
    with pytest.raises(ValueError, match="extra_query"):
        listing = client.users.list(on_my_account=True, include=include, extra_query=extra)
        [u async for u in listing]
    assert fake.requests == []


async def test_a_write_whose_extra_query_clashes_with_its_refresh_is_refused_before_the_write(
    fake: FakeKantata, client: KantataClient
) -> None:
    """A create whose extra query sets a parameter the refresh after the write sets (here
    `include`) is a `ValueError` with nothing sent, so nothing is created."""
    me = await client.users.me()
    held = [
        w async for w in client.workweek_memberships.list(user_ids=[me.id], include=["workweek"])
    ]
    assert held  # the graph holds memberships of this user, with their workweek loaded
    start = date(2030, 1, 6)  # a Sunday
    assert start.weekday() == 6
    before = len(fake.requests)
    for extra in ({"include": "workweek"}, {"user_ids": me.id}):
        with pytest.raises(ValueError, match="extra_query"):
            await client.workweek_memberships.create(
                user_id=me.id, start_date=start, monday_minutes=480, extra_query=extra
            )
        with pytest.raises(ValueError, match="extra_query"):
            await client.workweek_memberships.delete(held[0].id, extra_query=extra)
    assert fake.requests[before:] == []


# -- raw calls ----------------------------------------------------------------------------


async def test_a_raw_param_that_cannot_be_encoded_is_a_valueerror_before_any_request(
    fake: FakeKantata, client: KantataClient
) -> None:
    """A raw call's parameter a query string cannot carry (`nan`) is a plain `ValueError`
    naming it, not a `KantataError` saying a write may have happened."""
    with pytest.raises(ValueError, match="finite") as caught:
        await client.post("time_entries", json={"time_entry": {}}, params={"x": float("nan")})  # type: ignore[dict-item]
    assert not isinstance(caught.value, KantataError), str(caught.value)
    assert fake.requests == []


@pytest.mark.parametrize("path", [7, None, ["users"], PurePosixPath("users/me")], ids=repr)
async def test_a_raw_path_that_is_not_a_str_is_a_typeerror_before_any_request(
    fake: FakeKantata, client: KantataClient, path: object
) -> None:
    """A raw path must be a str: anything else (a number, None, a list of segments, a
    `PurePosixPath`) is a `TypeError`, before any request."""
    with pytest.raises(TypeError, match="path must be a str"):
        await client.get_json(path)  # type: ignore[arg-type]
    assert fake.requests == []


# -- configuration ------------------------------------------------------------------------


async def test_a_base_url_with_trailing_spaces_is_read_without_them(
    fake: FakeKantata, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`KANTATA_BASE_URL` with trailing blanks (a copy-paste) is the URL without them: the
    requests go to the API root, not to a path segment of spaces."""
    monkeypatch.setenv("KANTATA_TOKEN", fake.token)
    monkeypatch.setenv("KANTATA_BASE_URL", f"{fake.base_url}  ")
    async with KantataClient() as client:
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
    """A `base_url` holding a password, even without an http(s) scheme, is a `ValueError`
    whose message does not quote it."""
    monkeypatch.setenv("KANTATA_BASE_URL", base_url)
    with pytest.raises(ValueError, match="base_url") as caught:
        KantataClient("a-token")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("max_retries", [True, 2.5], ids=repr)
def test_the_client_checks_max_retries_as_with_options_does(max_retries: object) -> None:
    """`max_retries` that is not an int >= 0 (a bool, a float) is the same `ValueError`
    from `KantataClient` as from `with_options`."""
    with pytest.raises(ValueError, match="max_retries") as by_client:
        KantataClient("a-token", max_retries=max_retries)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_retries") as by_view:
        KantataClient("a-token").with_options(max_retries=max_retries)  # type: ignore[arg-type]
    assert str(by_client.value) == str(by_view.value)


# -- with_options views -------------------------------------------------------------------


async def test_a_view_of_a_view_cannot_raise_its_concurrency(
    fake: FakeKantata, client: KantataClient
) -> None:
    """A view of a view is held to its parent view's `max_concurrency`, not the client's:
    asking for more (even up to the client's ceiling) is a `ValueError`."""
    assert client.max_concurrency == 8
    narrow = client.with_options(max_concurrency=2)
    for wider in (4, 8):
        with pytest.raises(ValueError, match="1 to 2"):
            narrow.with_options(max_concurrency=wider)
    assert narrow.with_options(max_concurrency=1).max_concurrency == 1
    assert fake.requests == []


async def test_a_raw_delete_of_an_id_with_leading_zeros_is_refused_before_sending(
    fake: FakeKantata, client: KantataClient
) -> None:
    """Kantata reads `05` as record 5, which the graph holds as "5": refused, nothing sent."""
    with pytest.raises(ValueError, match="leading zeros"):
        await client.delete("time_entries/05")
    assert fake.requests == []
