"""OAuth without a server: `authorization_url`, `parse_redirect` and the `OAuthToken` repr."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from oauth_flow import REDIRECT, assert_no_secrets
from yarl import URL

from kantata_async import KantataError
from kantata_async.oauth import (
    DEFAULT_OAUTH_BASE_URL,
    OAuthError,
    OAuthToken,
    authorization_url,
    parse_redirect,
)

# -- authorization_url ----------------------------------------------------------------------


def test_authorization_url_carries_the_documented_parameters() -> None:
    url = URL(authorization_url("client-1", REDIRECT, state="xyz"))
    assert str(url.with_query(None)) == DEFAULT_OAUTH_BASE_URL + "oauth/authorize"
    assert dict(url.query) == {
        "client_id": "client-1",
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "state": "xyz",
    }
    assert "state" not in URL(authorization_url("client-1", REDIRECT)).query


@pytest.mark.parametrize(
    ("client_id", "redirect_uri", "state"),
    [
        ("a b+c&d=e", "https://example.com/cb?next=/home&x=1", "s t+u/v=w&x"),
        ("id", "https://example.com/c%20b?q=a%26b#frag", "ü€ #?"),
        ("id", "http://127.0.0.1:8000/cb", ""),
    ],
)
def test_authorization_url_escapes_every_value(
    client_id: str, redirect_uri: str, state: str
) -> None:
    url = authorization_url(client_id, redirect_uri, state=state)
    parts = urlsplit(url)
    assert parts.fragment == ""
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=True)
    assert query == {
        "client_id": [client_id],
        "response_type": ["code"],
        "redirect_uri": [redirect_uri],
        "state": [state],
    }


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://auth.example.com", "https://auth.example.com/oauth/authorize"),
        ("https://example.com/kantata/", "https://example.com/kantata/oauth/authorize"),
        ("http://localhost:8080/", "http://localhost:8080/oauth/authorize"),
        ("http://127.0.0.9/", "http://127.0.0.9/oauth/authorize"),
        ("http://[::1]:9000", "http://[::1]:9000/oauth/authorize"),
    ],
)
def test_authorization_url_joins_the_base_url(base_url: str, expected: str) -> None:
    url = authorization_url("id", REDIRECT, base_url=base_url)
    assert str(URL(url).with_query(None)) == expected


def test_authorization_url_refuses_plain_http_and_bad_arguments() -> None:
    with pytest.raises(ValueError, match="plain http"):
        authorization_url("id", REDIRECT, base_url="http://app.example.com/")
    url = authorization_url(
        "id", REDIRECT, base_url="http://app.example.com/", allow_insecure_http=True
    )
    assert url.startswith("http://app.example.com/oauth/authorize?")
    for bad in ("ftp://example.com/", "example.com", "https://example.com/?x=1"):
        with pytest.raises(ValueError, match="base_url"):
            authorization_url("id", REDIRECT, base_url=bad)
    with pytest.raises(ValueError, match="client_id"):
        authorization_url(" ", REDIRECT)
    with pytest.raises(ValueError, match="redirect_uri"):
        authorization_url("id", "")


# -- parse_redirect ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected_state", "code"),
    [
        (REDIRECT + "?code=abc123&state=xyz", "xyz", "abc123"),
        (REDIRECT + "?code=abc123&state=xyz", None, "abc123"),
        (REDIRECT + "?code=abc123", None, "abc123"),
        (REDIRECT + "?next=%2Fhome&code=a%2Bb%20c&state=x%26y", "x&y", "a+b c"),
        ("/kantata/callback?state=xyz&code=c0de", "xyz", "c0de"),
    ],
)
def test_parse_redirect_returns_the_code(url: str, expected_state: str | None, code: str) -> None:
    assert parse_redirect(url, expected_state=expected_state) == code


def test_parse_redirect_reports_a_denial_with_its_description() -> None:
    url = REDIRECT + "?error=access_denied&error_description=The+user+said+no.&state=xyz"
    with pytest.raises(
        OAuthError, match=r"denied access \(access_denied\): The user said no\."
    ) as e:
        parse_redirect(url, expected_state="xyz")
    assert isinstance(e.value, KantataError)
    assert (e.value.error, e.value.error_description, e.value.status) == (
        "access_denied",
        "The user said no.",
        None,
    )
    # Without a state (the denial may not echo it), it is still the denial.
    with pytest.raises(OAuthError, match="access_denied") as e:
        parse_redirect(REDIRECT + "?error=access_denied", expected_state="xyz")
    assert e.value.error_description is None
    with pytest.raises(OAuthError, match="authorization failed \\(server_error\\)"):
        parse_redirect(REDIRECT + "?error=server_error")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("code=secretcode&state=other", "does not match"),
        ("code=secretcode", "carries no state"),
        ("code=secretcode&state=", "does not match"),
        ("error=access_denied&state=other", "does not match"),
        ("state=xyz", "no authorization code"),
        ("code=&state=xyz", "no authorization code"),
        ("code=secretcode&code=othercode&state=xyz", "2 'code' parameters"),
        ("code=secretcode&state=xyz&state=xyz", "2 'state' parameters"),
    ],
)
def test_parse_redirect_refuses(query: str, message: str) -> None:
    with pytest.raises(OAuthError, match=message) as e:
        parse_redirect(REDIRECT + "?" + query, expected_state="xyz")
    assert e.value.error is None  # found by the SDK, not sent by the server
    assert_no_secrets(e.value, "secretcode", "othercode")


# -- OAuthToken ----------------------------------------------------------------------------


def test_the_token_repr_hides_the_token_and_extra_values() -> None:
    token = OAuthToken(
        access_token="tok-123", token_type="bearer", extra={"refresh_token": "rt-456"}
    )
    for shown in (repr(token), str(token)):
        assert "tok-123" not in shown and "rt-456" not in shown
        assert "refresh_token" in shown and "bearer" in shown
    with pytest.raises(TypeError):
        token.extra["x"] = 1  # type: ignore[index]
    assert token == OAuthToken(access_token="tok-123", extra={"refresh_token": "rt-456"})
