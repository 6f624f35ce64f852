"""Raw calls: any path of the API, with the client's retries, limits, errors and graph.

For what the generated resources do not cover (an endpoint added after the facts, a
parameter they do not know): `await client.get("time_entries", params={...})` sends the
request as every resource does and merges an envelope into `client.graph`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._errors import PayloadError, ResponseValidationError
from ._models.base import Model
from ._query import check_id
from ._secret import invalid_answer
from .resources._registry import RESOURCES

if TYPE_CHECKING:
    from .resources._api import ClientAPI

__all__ = ["RawCalls"]

_SEGMENT = re.compile(r"[A-Za-z0-9_.\-]+")


def _segments(path: str) -> tuple[str, ...]:
    """`"time_entries/5"` as path segments; ValueError for one that could leave the API root."""
    if not isinstance(path, str):
        raise TypeError(f"path must be a str such as 'time_entries/5', got {type(path).__name__}")
    parts = tuple(path.strip("/").removesuffix(".json").split("/"))
    for part in parts:
        if not _SEGMENT.fullmatch(part) or part in (".", ".."):
            raise ValueError(f"path {path!r}: {part!r} is not a path segment of the API")
    return parts


def _params(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    """`params` as strings (an int or a finite float is written as one); ValueError for a
    value a query string cannot carry, before anything is sent."""
    if params is None:
        return None
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping of str to str, got {type(params).__name__}")
    found = {}
    for name, value in params.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"params: {name!r} is not a parameter name")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(f"params[{name!r}] must be a str or a number, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"params[{name!r}] must be a finite number, got {value!r}")
        found[name] = value if isinstance(value, str) else str(value)
    return found


def _key_at(parts: tuple[str, ...]) -> str | None:
    """The top-level key of the collection whose path is `parts` (`custom_branding` is
    `private_label`'s), or None."""
    for resource in RESOURCES.values():
        if resource.path == parts:
            return str(resource.key)
    return None


class RawCalls:
    """`get`, `post`, `put`, `delete` and `get_json` on any path under the API root."""

    _api: ClientAPI

    async def get(self, path: str, *, params: Mapping[str, str] | None = None) -> list[Model]:
        """`GET <path>`: the primary records of the envelope, merged into the graph.

        page = await client.get("time_entries", params={"workspace_id": "5"})
        """
        return await self._records("GET", path, params, None)

    async def post(
        self,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> list[Model]:
        """`POST <path>` with a JSON body (never retried once sent); the records answered."""
        return await self._records("POST", path, params, json)

    async def put(
        self,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> list[Model]:
        """`PUT <path>` with a JSON body; the records answered, merged into the graph."""
        return await self._records("PUT", path, params, json)

    async def delete(self, path: str, *, params: Mapping[str, str] | None = None) -> None:
        """`DELETE <path>`. The graph forgets `<key>/<id>` when the path names one."""
        parts = _segments(path)
        if parts[-1].isdigit():
            check_id(parts[-1])  # "05" is record 5 to Kantata, held as "5" by the graph
        await self._api.request("DELETE", parts, params=_params(params))
        key = _key_at(parts[:-1]) if parts[-1].isdigit() else None
        if key is not None:
            self._api.graph.forget(key, parts[-1])

    async def get_json(self, path: str, *, params: Mapping[str, str] | None = None) -> Any:
        """`GET <path>`: the decoded JSON as it came, merged into nothing (for an answer that
        is not an envelope, such as `users/{id}/capacity`)."""
        return await self._api.request("GET", _segments(path), params=_params(params))

    async def _records(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
    ) -> list[Model]:
        parts = _segments(path)
        graph = self._api.graph
        payload, sent = await self._api.request_stamped(
            method, parts, params=_params(params), body=body
        )
        if payload is None:  # 204: nothing to merge
            return []
        if not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
            raise ResponseValidationError(
                "the answer is not an envelope (no 'results' list): client.get_json gives "
                "its JSON as it came",
                method=method,
                path="/".join(parts),
                status=200,
            )
        try:
            return graph.merge(payload, sent=sent, write=method != "GET")
        except PayloadError as err:
            invalid_answer(err, self._api.redact, method=method, path="/".join(parts))
