"""Scripted and random faults for the fake server, and the bodies they answer with."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

__all__ = [
    "MALFORMED_KINDS",
    "FaultBody",
    "MalformedKind",
    "RandomFaults",
    "Script",
    "default_error",
    "encode_body",
    "gateway_html",
    "normalize_path",
]

MalformedKind = Literal["json", "truncated", "html"]
MALFORMED_KINDS: frozenset[str] = frozenset({"json", "truncated", "html"})
FaultBody = bytes | str | Mapping[str, Any] | Sequence[Any]

# What a proxy in front of the API sends for the gateway statuses: HTML, not the API's JSON.
_HTML_STATUSES = frozenset({502, 504})


def normalize_path(path: str) -> str:
    """`path` the way `RecordedRequest.path` spells it: relative, no `.json`, no end slash."""
    path = path.strip().lstrip("/")
    if path.startswith("api/v1/") or path == "api/v1":
        path = path[len("api/v1/") :]
    path = path.rstrip("/")
    if path.endswith(".json"):
        path = path[: -len(".json")]
    return path


def gateway_html(status: int) -> str:
    """The page an nginx proxy serves for a gateway error."""
    title = f"{status} {HTTPStatus(status).phrase}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )


def default_error(status: int) -> tuple[bytes, str]:
    """The default body and content type for a scripted `status`, in the API's error format."""
    if status in _HTML_STATUSES:
        return gateway_html(status).encode(), "text/html; charset=utf-8"
    if status == 401:
        error: dict[str, str] = {"type": "oauth", "message": "Invalid OAuth 2 Request"}
    elif status == 422:
        error = {"type": "validation", "message": "Unprocessable Entity", "field": "base"}
    elif status == 429:
        error = {"type": "system", "message": "Too many requests. Please retry after a delay."}
    elif status == 503:
        error = {"type": "system", "message": "Service is unavailable"}
    else:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        error = {"type": "system", "message": phrase}
    return json.dumps({"errors": [error]}).encode(), "application/json; charset=utf-8"


def encode_body(body: FaultBody, content_type: str | None) -> tuple[bytes, str]:
    """A custom fault body as bytes and its content type (JSON for mappings and lists)."""
    if isinstance(body, bytes):
        return body, content_type or "application/octet-stream"
    if isinstance(body, str):
        guess = "text/html" if body.lstrip().startswith("<") else "text/plain"
        return body.encode(), content_type or f"{guess}; charset=utf-8"
    return json.dumps(body).encode(), content_type or "application/json; charset=utf-8"


@dataclass
class Script:
    """One scripted fault waiting for `remaining` more matching requests."""

    action: Literal["fail", "drop", "malformed"]
    remaining: int
    path: str | None = None
    method: str | None = None
    status: int = 0
    retry_after: int | str | None = None
    body: FaultBody | None = None
    content_type: str | None = None
    after_request: bool = True
    kind: MalformedKind = "json"

    def matches(self, method: str, path: str) -> bool:
        """Whether a request for `method` and `path` (normalized) should take this fault."""
        if self.method is not None and self.method != method:
            return False
        if self.path is None or self.path == "":
            return True
        return path == self.path or path.startswith(self.path + "/")


@dataclass
class RandomFaults:
    """Independent per-request fault probabilities, drawn from a seeded generator."""

    rate_429: float
    rate_503: float
    rate_drop: float
    retry_after: int | str | None
    rng: random.Random

    def draw(self) -> Script | None:
        """The fault for the next request, if any (one draw per request)."""
        roll = self.rng.random()
        if roll < self.rate_drop:
            return Script("drop", 1)
        roll -= self.rate_drop
        if roll < self.rate_429:
            return Script("fail", 1, status=429, retry_after=self.retry_after)
        roll -= self.rate_429
        if roll < self.rate_503:
            return Script("fail", 1, status=503, retry_after=self.retry_after)
        return None
