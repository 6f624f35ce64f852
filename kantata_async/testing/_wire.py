"""Wire helpers for the fake server: JSON encoding, API errors and request parameter parsing.

Pure functions, no I/O: the query pipeline and the write handlers build on them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any
from urllib.parse import parse_qsl

from aiohttp.multipart import content_disposition_filename, parse_content_disposition

from ._recording import FormValue, UploadedFile

__all__ = [
    "ACCOUNT_TZ",
    "ApiError",
    "dumps",
    "nest_params",
    "parse_date",
    "parse_datetime",
    "parse_form",
    "parse_multipart",
    "ruby_int",
    "truthy",
]


# The account's time zone: naive datetimes in filters are read in it, stamps carry it.
ACCOUNT_TZ = timezone(timedelta(hours=-7))


def _dumps_stdlib(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


dumps: Callable[[Any], bytes]
try:
    import orjson

    def _dumps_fast(obj: Any) -> bytes:
        try:
            return orjson.dumps(obj)
        except orjson.JSONEncodeError:
            # orjson stops at 64-bit integers; an echoed `page=18446744073709551616` is not.
            return _dumps_stdlib(obj)

    dumps = _dumps_fast
except ImportError:  # pragma: no cover - orjson is the optional `fast` extra
    dumps = _dumps_stdlib


class ApiError(Exception):
    """An error response in Kantata's format: `{"errors": [{type, message, field?}]}`."""

    def __init__(
        self, status: int, errors: list[dict[str, str]], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status}: {errors}")
        self.status = status
        self.errors = errors
        self.headers = headers or {}

    @classmethod
    def system(cls, status: int, message: str) -> ApiError:
        """A `system` error, as for 400, 404 and 500."""
        return cls(status, [{"type": "system", "message": message}])

    @classmethod
    def validation(cls, *problems: tuple[str, str]) -> ApiError:
        """A 422 with one `validation` error per `(field, message)`."""
        return cls(
            422, [{"type": "validation", "message": msg, "field": fld} for fld, msg in problems]
        )

    def body(self) -> bytes:
        """The JSON body of this error."""
        return dumps({"errors": self.errors})


_LEADING_INT = re.compile(r"\s*([+-]?\d+)")


# Below Python's limit for converting between int and str (4,300 digits), so that a number
# read here can be echoed back as JSON.
MAX_INT_DIGITS = 4000


def ruby_int(value: str | None, default: int, *, name: str = "a number") -> int:
    """`value.to_i` as Ruby does it: leading digits count, anything else is 0; None -> default.

    Ruby reads any length; past `MAX_INT_DIGITS` digits this answers 400 naming `name`.
    """
    if value is None:
        return default
    match = _LEADING_INT.match(value)
    if not match:
        return 0
    if len(match.group(1).lstrip("+-")) > MAX_INT_DIGITS:
        raise ApiError.system(400, f"{name} has more than {MAX_INT_DIGITS:,} digits")
    return int(match.group(1))


def truthy(value: str | None) -> bool:
    """A boolean query parameter: "true" or "1" (any case) is true, anything else false."""
    return value is not None and value.strip().lower() in ("true", "1")


def parse_date(name: str, value: Any) -> date:
    """A YYYY-MM-DD date, or a 422 naming `name`."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ApiError.validation((name, f"{name} must be a date in YYYY-MM-DD format"))


def parse_datetime(name: str, value: str, zone: tzinfo) -> datetime:
    """An ISO 8601 date or datetime (naive ones in `zone`), or a 422 naming `name`."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ApiError.validation(
            (name, f"{name} must be an ISO 8601 datetime, like 2024-01-31T09:00:00Z")
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


_KEY_PART = re.compile(r"\[([^\]]*)\]")


def nest_params(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Rails-style field names to nested dicts: `user[full_name]=Ann` -> `{"user": {...}}`.

    `a[]` appends to a list; a later value for the same name replaces an earlier one.
    """
    out: dict[str, Any] = {}
    for name, value in pairs:
        root, _, rest = name.partition("[")
        parts = [root, *_KEY_PART.findall("[" + rest)] if rest else [root]
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt = None if last else parts[i + 1]
            if isinstance(node, list):
                if last:
                    node.append(value)
                    break
                child: Any = [] if nxt == "" else {}
                node.append(child)
                node = child
                continue
            if last:
                node[part] = value
                break
            existing = node.get(part)
            want_list = nxt == ""
            if want_list and not isinstance(existing, list):
                existing = node[part] = []
            elif not want_list and not isinstance(existing, dict):
                existing = node[part] = {}
            node = existing
    return out


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """The fields of an `application/x-www-form-urlencoded` body, in order."""
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)


def parse_multipart(body: bytes, boundary: str) -> list[tuple[str, FormValue]]:
    """The parts of a `multipart/form-data` body: text fields as str, file parts as files."""
    delimiter = b"--" + boundary.encode("latin-1")
    out: list[tuple[str, FormValue]] = []
    chunks = body.split(delimiter)
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        if data.endswith(b"\r\n"):
            data = data[:-2]
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, colon, value = line.partition(":")
            if colon:
                headers[key.strip().lower()] = value.strip()
        _, params = parse_content_disposition(headers.get("content-disposition"))
        name = params.get("name")
        if name is None:
            continue
        filename = content_disposition_filename(params, "filename")
        content_type = headers.get("content-type")
        if filename is not None or (
            content_type is not None and not content_type.startswith("text/plain")
        ):
            out.append(
                (name, UploadedFile(filename, content_type or "application/octet-stream", data))
            )
        else:
            out.append((name, data.decode("utf-8", "replace")))
    return out
