"""The HTTP responses the fake server sends: JSON bodies, API errors, scripted faults."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ._faults import Script, default_error, encode_body
from ._wire import ApiError, dumps

__all__ = ["JSON_TYPE", "error_response", "failure_response", "garble", "json_response"]

JSON_TYPE = "application/json; charset=utf-8"
_INVALID_JSON = b'{"count": 1, "results": [{"key": \'users\', "id": 1},'
_MAINTENANCE_HTML = (
    b'<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8">'
    b"<title>Kantata OX - Scheduled maintenance</title></head>\n<body>\n"
    b"<h1>We'll be right back</h1>\n<p>Kantata OX is down for scheduled maintenance.</p>\n"
    b"</body>\n</html>\n"
)


def json_response(payload: Any, status: int = 200) -> web.Response:
    """`payload` as a JSON response."""
    return web.Response(status=status, body=dumps(payload), headers={"Content-Type": JSON_TYPE})


def error_response(error: ApiError) -> web.Response:
    """An API error in Kantata's `{"errors": [...]}` format."""
    return web.Response(
        status=error.status,
        body=error.body(),
        headers={"Content-Type": JSON_TYPE, **error.headers},
    )


def failure_response(script: Script) -> web.Response:
    """The answer of a scripted failure (`fail_next`, random faults)."""
    status = script.status
    if script.body is not None:
        body, ctype = encode_body(script.body, script.content_type)
    else:
        body, ctype = default_error(status)
        ctype = script.content_type or ctype
    headers = {"Content-Type": ctype}
    if script.retry_after is not None:
        headers["Retry-After"] = str(script.retry_after)
    if status in (204, 304):
        return web.Response(status=status, headers=headers)
    return web.Response(status=status, body=body, headers=headers)


def garble(kind: str, response: web.Response) -> web.Response:
    """A served response spoiled as `malformed_next` asks: invalid JSON, cut short, or HTML."""
    if kind == "truncated":
        raw = response.body if isinstance(response.body, bytes) else b""
        headers = {"Content-Type": response.headers.get("Content-Type", JSON_TYPE)}
        return web.Response(status=response.status, body=raw[: len(raw) // 2], headers=headers)
    if kind == "html":
        headers = {"Content-Type": "text/html; charset=utf-8"}
        return web.Response(status=200, body=_MAINTENANCE_HTML, headers=headers)
    return web.Response(status=200, body=_INVALID_JSON, headers={"Content-Type": JSON_TYPE})
