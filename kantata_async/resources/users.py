"""`client.users`: the generated resource, plus what the facts cannot say.

- `capacity`: its body is not the usual envelope (`Capacity`);
- `update_profile_photo`: a multipart upload; `reset_profile_photo`;
- checks the API documents in prose: `account_id` not with `on_my_account`, at most 200
  addresses, an external reference's required fields.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import aiohttp
import cattrs

from .._convert import converter
from .._errors import ResponseValidationError
from .._generated import users as generated
from .._generated.users import User
from .._models.capacity import Capacity
from .._options import Timeout

__all__ = ["Users"]

EXTERNAL_REFERENCE_FIELDS = frozenset(
    {
        "service_name",
        "service_model",
        "service_model_ref",
        "status",
        "external_message",
        "external_link",
        "external_status",
        "locked",
    }
)
_EXTERNAL_REFERENCE_REQUIRED = ("service_name", "service_model", "service_model_ref")
_AT_MOST_200 = ("by_email_addresses", "external_reference_service_model_refs")
PHOTO_PART = "user[profile_photo_attachment_file]"

Photo = bytes | str | os.PathLike[str] | IO[bytes]


class Users(generated.Users):
    """The Users endpoints. Every call merges its answer into `client.graph`.

    Without `on_my_account=True`, `list` returns only users who share a project with you.

        page = await client.users.list(on_my_account=True, include=["role"], per_page=50)
        async for user in client.users.list(by_full_name="ann"):
            print(user.full_name)
    """

    def _check_filters(self, filters: Mapping[str, Any]) -> None:
        if filters.get("account_id") is not None and filters.get("on_my_account"):
            raise ValueError("account_id cannot be combined with on_my_account (the API says so)")
        for name in _AT_MOST_200:
            value = filters.get(name)
            if value is not None and len(value) > 200:
                raise ValueError(f"{name} takes at most 200 values, got {len(value)}")

    def _check_write(self, operation: str, fields: Mapping[str, Any]) -> None:
        email = fields.get("email_address")
        if isinstance(email, str) and "@" not in email:
            raise ValueError(f"email_address does not look like an address: {email!r}")
        reference = fields.get("external_reference")
        if reference is not None:
            _check_external_reference(reference)

    async def capacity(
        self,
        id: str | int,
        *,
        start_date: date,
        end_date: date,
        timeout: Timeout | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> Capacity:
        """`GET /users/{id}/capacity`: hours of work capacity per day in a date range."""
        api = self._with(timeout, extra_headers, extra_query)._api
        uid = self._id(id)
        for name, value in (("start_date", start_date), ("end_date", end_date)):
            if isinstance(value, datetime) or not isinstance(value, date):
                raise ValueError(f"{name} must be a datetime.date, got {value!r}")
        if end_date < start_date:
            raise ValueError(f"end_date {end_date} is before start_date {start_date}")
        params = {"start_date": start_date.isoformat(), "end_date": end_date.isoformat()}
        body = await api.request("GET", ("users", uid, "capacity"), params=params)
        try:
            return converter.structure(body, Capacity)
        except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as err:
            raise ResponseValidationError(
                f"not a capacity body: {err}",
                method="GET",
                path=f"users/{uid}/capacity",
                status=200,
            ) from err

    async def update_profile_photo(
        self,
        id: str | int,
        photo: Photo,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        include: Sequence[str] | None = None,
        timeout: Timeout | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> User:
        """`POST /users/{id}/profile_photo`: upload a new photo (multipart).

        `photo` is the image as bytes, a path, or a binary file object.
        """
        uid = self._id(id)
        data, name = await _read_photo(photo, filename)
        ctype = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"

        def form() -> aiohttp.FormData:
            built = aiohttp.FormData()
            built.add_field(PHOTO_PART, data, filename=name, content_type=ctype)
            return built

        params, tree = self._read_params(include)
        path = ("users", uid, "profile_photo")
        users = self._with(timeout, extra_headers, extra_query)
        user: User = await users._one("POST", path, params=params, body=form, tree=tree)
        return user

    async def reset_profile_photo(
        self,
        id: str | int,
        *,
        timeout: Timeout | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> None:
        """`DELETE /users/{id}/profile_photo`: back to the default photo.

        The server does not say what the new `photo_path` is, so the graph's copy of the
        user drops the field (it reads as not loaded until the user is fetched again).
        """
        uid = self._id(id)
        api = self._with(timeout, extra_headers, extra_query)._api
        await api.request("DELETE", ("users", uid, "profile_photo"))
        user = self._api.graph.get(User, uid)
        if user is not None:
            user.__dict__.pop("photo_path", None)


def _check_external_reference(value: Mapping[str, Any]) -> None:
    if not isinstance(value, Mapping):
        raise ValueError(f"external_reference must be a mapping, got {type(value).__name__}")
    unknown = set(value) - EXTERNAL_REFERENCE_FIELDS
    if unknown:
        raise ValueError(
            f"external_reference: unknown field(s) {', '.join(sorted(unknown))}; "
            f"valid: {', '.join(sorted(EXTERNAL_REFERENCE_FIELDS))}"
        )
    missing = [k for k in _EXTERNAL_REFERENCE_REQUIRED if not value.get(k)]
    if missing:
        raise ValueError(f"external_reference needs {', '.join(missing)}")


async def _read_photo(photo: Photo, filename: str | None) -> tuple[bytes, str]:
    if isinstance(photo, bytes | bytearray):
        return bytes(photo), filename or "photo"
    if isinstance(photo, str | os.PathLike):
        path = Path(photo)
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as err:
            raise ValueError(f"cannot read the photo at {path}: {err}") from err
        return data, filename or path.name
    if hasattr(photo, "read"):
        data = await asyncio.to_thread(photo.read)
        if not isinstance(data, bytes):
            raise ValueError("the photo file object must be opened in binary mode")
        return data, filename or Path(str(getattr(photo, "name", "photo"))).name
    raise ValueError(f"photo must be bytes, a path or a binary file, got {type(photo).__name__}")
