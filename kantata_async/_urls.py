"""Base URL checks shared by the client and OAuth: http(s) only, plain http only to loopback."""

from __future__ import annotations

import ipaddress

from yarl import URL

__all__ = ["checked_base_url", "is_loopback"]


def is_loopback(host: str | None) -> bool:
    """Whether `host` is this machine: localhost, 127.0.0.0/8 or ::1."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def checked_base_url(base_url: str | URL, *, allow_insecure_http: bool, carries: str) -> URL:
    """`base_url` as a URL ending with a slash, or ValueError naming what is wrong.

    A URL with credentials (`https://user:pass@host/`) is refused without being echoed.
    Plain `http://` is refused unless the host is loopback or `allow_insecure_http` is set:
    `carries` (the token, credentials) would travel unencrypted.
    """
    # The text is never echoed in these errors: it may hold a password.
    text = str(base_url).strip()
    if any(char.isspace() or not char.isprintable() for char in text):
        raise ValueError("base_url must not contain spaces or control characters")
    try:
        url = URL(text)
    except ValueError:
        raise ValueError("base_url is not a valid URL") from None
    if url.raw_user is not None or url.raw_password is not None:
        # Never echoed: the URL holds a password, which a repr would show and which aiohttp
        # would refuse (or send as Basic auth) next to the bearer token at the first request.
        raise ValueError(
            "base_url must not contain a user name or password (user:password@): remove "
            f"them from the URL of host {url.host!r}"
        )
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(
            "base_url must be an http(s) URL with a host, such as "
            "'https://api.mavenlink.com/api/v1/'"
        )
    if url.raw_query_string or url.raw_fragment:
        raise ValueError(f"base_url of host {url.host!r} must not have a query or a fragment")
    if url.scheme == "http" and not (allow_insecure_http or is_loopback(url.host)):
        raise ValueError(
            f"base_url {str(url)!r} is plain http to a non-loopback host: {carries} would "
            "travel unencrypted. Use https, or pass allow_insecure_http=True."
        )
    if not url.path.endswith("/"):
        url = url.with_path(url.path + "/")
    return url
