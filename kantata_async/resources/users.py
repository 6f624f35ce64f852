"""`client.users`: list, me, get, update, capacity, profile photo update and reset."""

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
from .._pagination import ListRequest
from .._query import Kind
from ..models import Capacity, User
from ._base import Resource

__all__ = ["Users"]

K = Kind
# Every filter GET /users documents, and how it is written on the wire.
LIST_FILTERS: dict[str, Kind] = {
    "account_id": K.ID,
    "account_role_ids": K.IDS,
    "all_contacts": K.BOOL,
    "assignable_to_resource": K.ID,
    "belonging_to_orgs": K.STR,
    "by_custom_choice_value": K.STR,
    "by_custom_currency_value": K.STR,
    "by_custom_date_value": K.STR,
    "by_custom_number_value": K.STR,
    "by_custom_text_value": K.STR,
    "by_email_address": K.STR,
    "by_email_addresses": K.STRS,
    "by_full_name": K.STR,
    "by_full_name_or_account_role": K.STR,
    "can_be_approver_in_workspace": K.ID,
    "can_view_reports": K.BOOL,
    "clients_only": K.BOOL,
    "consultants_only": K.BOOL,
    "contacts_on_different_account": K.BOOL,
    "created_after": K.DATETIME,
    "created_before": K.DATETIME,
    "external_reference_external_message": K.STR,
    "external_reference_external_status": K.STR,
    "external_reference_service_model": K.STR,
    "external_reference_service_model_ref": K.STR,
    "external_reference_service_model_refs": K.STRS,
    "external_reference_service_name": K.STR,
    "external_reference_status": K.STR,
    "has_external_references": K.BOOL,
    "has_value_for_custom_field_ids": K.IDS,
    "is_project_lead": K.BOOL,
    "managers": K.BOOL,
    "matching": K.STR,
    "not_assigned_to": K.ID,
    "not_following": K.ID,
    "not_on_calendars": K.IDS,
    "not_participant_in": K.ID,
    "on_my_account": K.BOOL,
    "on_my_account_or_participant_in_workspace": K.ID,
    "only": K.IDS,
    "only_possible_managees": K.BOOL,
    "only_possible_managers": K.BOOL,
    "participant_in": K.ID,
    "potential_followers_for_story": K.ID,
    "provider_leads_on_account_projects": K.BOOL,
    "search": K.STR,
    "show_disabled": K.BOOL,
    "show_users_in_insights_groups": K.BOOL,
    "updated_after": K.DATETIME,
    "updated_before": K.DATETIME,
    "with_created_estimates": K.BOOL,
    "with_skills": K.JSONISH,
    "with_users": K.IDS,
    "without_external_reference_service_name": K.STR,
    "without_skills": K.IDS,
    "without_timesheet_submission": K.STR,
    "without_users": K.IDS,
    "write_access_in": K.ID,
}

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
PHOTO_PART = "user[profile_photo_attachment_file]"

Photo = bytes | str | os.PathLike[str] | IO[bytes]


class Users(Resource[User]):
    """The Users endpoints. Every call merges its answer into `client.graph`."""

    path = "users"
    singular = "user"
    includes = frozenset(
        {
            "account_membership",
            "custom_field_values",
            "external_references",
            "manager",
            "role",
            "skill_memberships",
            "skills",
            "work_samples",
        }
    )
    optional_fields = frozenset(
        {
            "abbreviated_timezone",
            "bio",
            "city",
            "classification",
            "country",
            "last_site_activity",
            "state",
            "website",
        }
    )
    orders = ("alphabetical:asc", "alphabetical:desc")

    def list(
        self,
        *,
        include: Sequence[str] | None = None,
        optional_fields: Sequence[str] | None = None,
        order: str | None = None,
        per_page: int | None = None,
        account_id: str | int | None = None,
        account_role_ids: Sequence[str | int] | None = None,
        all_contacts: bool | None = None,
        assignable_to_resource: str | int | None = None,
        belonging_to_orgs: str | None = None,
        by_custom_choice_value: str | None = None,
        by_custom_currency_value: str | None = None,
        by_custom_date_value: str | None = None,
        by_custom_number_value: str | None = None,
        by_custom_text_value: str | None = None,
        by_email_address: str | None = None,
        by_email_addresses: Sequence[str] | None = None,
        by_full_name: str | None = None,
        by_full_name_or_account_role: str | None = None,
        can_be_approver_in_workspace: str | int | None = None,
        can_view_reports: bool | None = None,
        clients_only: bool | None = None,
        consultants_only: bool | None = None,
        contacts_on_different_account: bool | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        external_reference_external_message: str | None = None,
        external_reference_external_status: str | None = None,
        external_reference_service_model: str | None = None,
        external_reference_service_model_ref: str | None = None,
        external_reference_service_model_refs: Sequence[str] | None = None,
        external_reference_service_name: str | None = None,
        external_reference_status: str | None = None,
        has_external_references: bool | None = None,
        has_value_for_custom_field_ids: Sequence[str | int] | None = None,
        is_project_lead: bool | None = None,
        managers: bool | None = None,
        matching: str | None = None,
        not_assigned_to: str | int | None = None,
        not_following: str | int | None = None,
        not_on_calendars: Sequence[str | int] | None = None,
        not_participant_in: str | int | None = None,
        on_my_account: bool | None = None,
        on_my_account_or_participant_in_workspace: str | int | None = None,
        only: Sequence[str | int] | None = None,
        only_possible_managees: bool | None = None,
        only_possible_managers: bool | None = None,
        participant_in: str | int | None = None,
        potential_followers_for_story: str | int | None = None,
        provider_leads_on_account_projects: bool | None = None,
        search: str | None = None,
        show_disabled: bool | None = None,
        show_users_in_insights_groups: bool | None = None,
        updated_after: datetime | None = None,
        updated_before: datetime | None = None,
        with_created_estimates: bool | None = None,
        with_skills: str | Mapping[str, Any] | None = None,
        with_users: Sequence[str | int] | None = None,
        without_external_reference_service_name: str | None = None,
        without_skills: Sequence[str | int] | None = None,
        without_timesheet_submission: str | None = None,
        without_users: Sequence[str | int] | None = None,
        write_access_in: str | int | None = None,
    ) -> ListRequest[User]:
        """`GET /users`: the users visible to the token.

        Without `on_my_account=True` the API returns only users who share a project with
        you. Await the result for the first page, or iterate it for every user:

            page = await client.users.list(on_my_account=True, include=["role"], per_page=50)
            async for user in client.users.list(by_full_name="ann"):
                print(user.full_name)

        Each filter keyword is one the API documents; lists are sent comma-joined,
        booleans as true/false and datetimes (which must be timezone-aware) in ISO 8601.
        Raises `ValueError` before any request for a bad value.
        """
        filters = {k: v for k, v in locals().items() if k in LIST_FILTERS}
        if account_id is not None and on_my_account:
            raise ValueError("account_id cannot be combined with on_my_account (the API says so)")
        for name in ("by_email_addresses", "external_reference_service_model_refs"):
            if filters[name] is not None and len(filters[name]) > 200:
                raise ValueError(f"{name} takes at most 200 values, got {len(filters[name])}")
        return self._list_request(LIST_FILTERS, filters, include, optional_fields, order, per_page)

    async def me(
        self,
        *,
        include: Sequence[str] | None = None,
        optional_fields: Sequence[str] | None = None,
    ) -> User:
        """`GET /users/me`: the user the token belongs to."""
        return await self._read_one(("users", "me"), include, optional_fields)

    async def get(
        self,
        id: str | int,
        *,
        include: Sequence[str] | None = None,
        optional_fields: Sequence[str] | None = None,
    ) -> User:
        """`GET /users/{id}`. Raises `NotFoundError` if the token cannot see the user."""
        return await self._read_one(("users", self._id(id)), include, optional_fields)

    async def update(
        self,
        id: str | int,
        *,
        full_name: str | None = None,
        headline: str | None = None,
        email_address: str | None = None,
        external_reference: Mapping[str, Any] | None = None,
        include: Sequence[str] | None = None,
        optional_fields: Sequence[str] | None = None,
    ) -> User:
        """`PUT /users/{id}` with only the fields given; returns the updated user.

        The user object the graph already holds is updated in place, and the relations it
        has loaded are asked for again with the update (so they come back fresh). Changing
        `email_address` makes Kantata ask the user to verify it again.
        `external_reference` needs `service_name`, `service_model` and `service_model_ref`.
        """
        uid = self._id(id)
        for name, value in (
            ("full_name", full_name),
            ("headline", headline),
            ("email_address", email_address),
        ):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} must be a str, got {type(value).__name__}")
        if email_address is not None and "@" not in email_address:
            raise ValueError(f"email_address does not look like an address: {email_address!r}")
        if external_reference is not None:
            _check_external_reference(external_reference)
        body = self._write_body(
            {
                "full_name": full_name,
                "headline": headline,
                "email_address": email_address,
                "external_reference": dict(external_reference) if external_reference else None,
            }
        )
        # The relations the held user has loaded come back with the answer, fresh.
        held = self._client.graph.get(User, uid)
        params, tree = self._write_params([held] if held else [], include, optional_fields)
        return await self._one("PUT", ("users", uid), params=params, body=body, tree=tree)

    async def capacity(self, id: str | int, *, start_date: date, end_date: date) -> Capacity:
        """`GET /users/{id}/capacity`: hours of work capacity per day in a date range."""
        uid = self._id(id)
        for name, value in (("start_date", start_date), ("end_date", end_date)):
            if isinstance(value, datetime) or not isinstance(value, date):
                raise ValueError(f"{name} must be a datetime.date, got {value!r}")
        if end_date < start_date:
            raise ValueError(f"end_date {end_date} is before start_date {start_date}")
        params = {"start_date": start_date.isoformat(), "end_date": end_date.isoformat()}
        body = await self._call("GET", ("users", uid, "capacity"), params=params)
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
        return await self._one("POST", path, params=params, body=form, tree=tree)

    async def reset_profile_photo(self, id: str | int) -> None:
        """`DELETE /users/{id}/profile_photo`: back to the default photo.

        The server does not say what the new `photo_path` is, so the graph's copy of the
        user drops the field (it reads as not loaded until the user is fetched again).
        """
        uid = self._id(id)
        await self._call("DELETE", ("users", uid, "profile_photo"))
        user = self._client.graph.get(User, uid)
        if user is not None:
            user.__dict__.pop("photo_path", None)


def _check_external_reference(value: Mapping[str, Any]) -> None:
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
