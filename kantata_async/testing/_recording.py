"""What the fake server saw: one `RecordedRequest` per request, in arrival order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["FormValue", "RecordedRequest", "UploadedFile"]


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart body: its `filename`, `content_type` and bytes."""

    filename: str | None
    content_type: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        """The number of bytes uploaded."""
        return len(self.data)


FormValue = str | UploadedFile


@dataclass(frozen=True)
class RecordedRequest:
    """One request as `FakeKantata` received it.

    - `method`: upper case, e.g. "GET".
    - `path`: relative to `/api/v1/`, without a `.json` suffix, e.g. "users/12/capacity".
      A path outside `/api/v1/` is kept absolute (it starts with "/").
    - `query`: the query string decoded; a key given more than once keeps its **last** value.
      `query_string` is the raw, undecoded query string.
    - `headers`: every header, keys lower-cased (a repeated header keeps its last value);
      `header(name)` looks one up in any case.
    - `body`: the raw body (b"" when there is none, or when the connection was dropped before
      the body was read).
    - `json`: the parsed body when it is valid JSON sent as `application/json` (or sent with
      no content type), else None.
    - `form`: for `application/x-www-form-urlencoded` and `multipart/form-data` bodies, each
      field name (as sent, e.g. "user[full_name]") mapped to its last value: a `str`, or an
      `UploadedFile` for a file part. None for other bodies.
    - `status`: the status the server answered with; None while the request is in flight
      and when the connection was dropped without an answer.
    - `request_id`: the `X-Request-Id` the answer carried (every answer carries one, as a
      Rails app's do); None without an answer.
    - `received_at`: the event loop's clock (`loop.time()`) when the request arrived, for
      reasoning about backoff; compare two of them, never against a wall clock.

    Treat the dicts as read-only.

        async with FakeKantata(users=10) as fake:
            ...  # let the client under test run
            req = fake.requests[-1]
            assert (req.method, req.path, req.query) == ("GET", "users", {"page": "2"})
            assert req.header("Authorization") == f"Bearer {fake.token}"
    """

    method: str
    path: str
    query: dict[str, str]
    # Out of the repr: it carries the bearer token.
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)
    json: Any = field(default=None, repr=False)
    form: dict[str, FormValue] | None = field(default=None, repr=False)
    query_string: str = ""
    status: int | None = None
    received_at: float = field(default=0.0, compare=False)
    request_id: str | None = field(default=None, compare=False)

    def header(self, name: str, default: str | None = None) -> str | None:
        """The value of header `name` (any case), or `default`."""
        return self.headers.get(name.lower(), default)
