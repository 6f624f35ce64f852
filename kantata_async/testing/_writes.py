"""The write side of the fake server: validation and mutation for each write endpoint.

Each handler takes the decoded body (JSON or Rails-style form, already nested) and changes
the dataset through its helpers, or raises `ApiError` with the API's error format before
changing anything. No I/O here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from ._dataset import DAYS, DEFAULT_PHOTO_PATH, Dataset
from ._recording import FormValue, UploadedFile
from ._wire import ApiError, parse_date

__all__ = ["PHOTO_FIELD", "Writer"]

PHOTO_FIELD = "user[profile_photo_attachment_file]"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_EXT = re.compile(r"\.[A-Za-z0-9]{1,5}")
_EXTERNAL_STATUSES = ("pending", "successful", "failed")
MAX_DAY_MINUTES = 24 * 60


def _wrapped(body: Mapping[str, Any], wrapper: str) -> dict[str, Any]:
    """`body[wrapper]`, or the 400 Rails answers when the wrapper key is missing."""
    params = body.get(wrapper)
    if not isinstance(params, dict) or not params:
        raise ApiError.system(400, f"param is missing or the value is empty: {wrapper}")
    return params


def _int_value(value: Any) -> int | None:
    """An int from JSON (int) or a form (digit string); None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        return int(value)
    return None


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "false", "0"):
        return value.strip().lower() in ("true", "1")
    return None


class Writer:
    """Applies the write endpoints to a dataset for the user `me`. `today` gives the
    account's current date."""

    def __init__(self, dataset: Dataset, today: Callable[[], date], me: str = "1") -> None:
        self.dataset = dataset
        self.today = today
        self.me = me

    # -- users --------------------------------------------------------------------------

    def update_user(self, user_id: str, body: Mapping[str, Any]) -> None:
        """`PUT users/{id}`: full_name, headline, email_address and an external_reference."""
        params = _wrapped(body, "user")
        changes: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        if "full_name" in params:
            name = params["full_name"]
            if not isinstance(name, str) or not name.strip():
                problems.append(("full_name", "Full name can't be blank"))
            else:
                changes["full_name"] = name
        if "headline" in params:
            headline = params["headline"]
            if headline is not None and not isinstance(headline, str):
                problems.append(("headline", "Headline must be a string"))
            else:
                changes["headline"] = headline
        if "email_address" in params:
            email = params["email_address"]
            if not isinstance(email, str) or not _EMAIL.fullmatch(email.strip()):
                problems.append(("email_address", "Email address is invalid"))
            elif self._email_taken(email.strip(), user_id):
                problems.append(("email_address", "Email address has already been taken"))
            else:
                changes["email_address"] = email.strip()
        reference: dict[str, Any] | None = None
        if "external_reference" in params:
            reference = self._external_reference(params["external_reference"], problems)
        if problems:
            raise ApiError.validation(*problems)
        if reference is not None:
            self._attach_reference(user_id, reference)
        self.dataset.update("users", user_id, **changes)

    def _email_taken(self, email: str, user_id: str) -> bool:
        folded = email.casefold()
        return any(
            (u.get("email_address") or "").casefold() == folded and u["id"] != user_id
            for u in self.dataset.records.get("users", {}).values()
        )

    @staticmethod
    def _external_reference(value: Any, problems: list[tuple[str, str]]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            problems.append(("external_reference", "External reference must be an object"))
            return None
        out: dict[str, Any] = {}
        for name in ("service_name", "service_model", "service_model_ref"):
            given = value.get(name)
            if given is None or not str(given).strip():
                label = name.replace("_", " ").capitalize()
                problems.append((f"external_reference.{name}", f"{label} can't be blank"))
            else:
                out[name] = str(given)
        status = value.get("status", "successful")
        if status not in _EXTERNAL_STATUSES:
            problems.append(
                ("external_reference.status", "Status must be pending, successful or failed")
            )
        out["status"] = status
        for name in ("external_message", "external_link", "external_status"):
            if name in value:
                out[name] = None if value[name] is None else str(value[name])
        if "locked" in value:
            locked = _boolean(value["locked"])
            if locked is None:
                problems.append(("external_reference.locked", "Locked must be true or false"))
            out["locked"] = bool(locked)
        return out

    def _attach_reference(self, user_id: str, fields: dict[str, Any]) -> None:
        user = self.dataset.records["users"][user_id]
        references = self.dataset.records.setdefault("external_references", {})
        for ref_id in user.get("external_reference_ids") or []:
            ref = references.get(ref_id)
            if ref is not None and (ref["service_name"], ref["service_model_ref"]) == (
                fields["service_name"],
                fields["service_model_ref"],
            ):
                self.dataset.update("external_references", ref_id, **fields)
                return
        now = self.dataset.stamp()
        ref = self.dataset.add(
            "external_references",
            {
                "service_name": fields["service_name"],
                "service_model": fields["service_model"],
                "service_model_ref": fields["service_model_ref"],
                "status": fields["status"],
                "external_link": fields.get("external_link"),
                "external_message": fields.get("external_message"),
                "external_status": fields.get("external_status"),
                "locked": fields.get("locked", False),
                "last_synced_at": now,
                "subject_type": "User",
                "subject_id": int(user_id),
                "created_at": now,
                "updated_at": now,
            },
        )
        user.setdefault("external_reference_ids", []).append(ref["id"])

    def set_photo(self, user_id: str, form: Mapping[str, FormValue] | None) -> None:
        """`POST users/{id}/profile_photo`: needs the multipart part `PHOTO_FIELD`."""
        part = None if form is None else form.get(PHOTO_FIELD)
        if part is None:
            raise ApiError.validation(
                (
                    "profile_photo_attachment_file",
                    f"Send the photo as multipart/form-data in a part named {PHOTO_FIELD}",
                )
            )
        if isinstance(part, UploadedFile):
            data, filename = part.data, part.filename or ""
        else:
            data, filename = part.encode(), ""
        if not data:
            raise ApiError.validation(
                ("profile_photo_attachment_file", "Profile photo attachment file can't be blank")
            )
        digest = hashlib.sha256(data).hexdigest()[:16]
        suffix = filename[filename.rfind(".") :] if "." in filename else ""
        ext = suffix.lower() if _EXT.fullmatch(suffix) else ".png"
        self.dataset.update(
            "users", user_id, photo_path=f"/images/profile_photos/{user_id}/{digest}{ext}"
        )

    def reset_photo(self, user_id: str) -> None:
        """`DELETE users/{id}/profile_photo`: back to the default picture."""
        self.dataset.update("users", user_id, photo_path=DEFAULT_PHOTO_PATH)

    # -- workweek memberships -----------------------------------------------------------

    def _user_id(self, params: Mapping[str, Any], problems: list[tuple[str, str]]) -> str | None:
        raw = params.get("user_id")
        value = _int_value(raw)
        user = None if value is None else self.dataset.get("users", str(value))
        me = self.dataset.get("users", self.me) or {}
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            problems.append(("user_id", "User can't be blank"))
        elif user is None or user.get("account_id") != me.get("account_id"):
            # Workweeks belong to an account: a user of another account is not found.
            problems.append(("user_id", "User must exist"))
        else:
            return str(value)
        return None

    @staticmethod
    def _sunday(value: Any, problems: list[tuple[str, str]]) -> date | None:
        try:
            day = parse_date("start_date", value)
        except ApiError:
            problems.append(("start_date", "Start date must be a date in YYYY-MM-DD format"))
            return None
        if day.weekday() != 6:
            problems.append(("start_date", "Start date must be a Sunday"))
            return None
        return day

    @staticmethod
    def _minutes(params: Mapping[str, Any], problems: list[tuple[str, str]]) -> dict[str, int]:
        out: dict[str, int] = {}
        for day in DAYS:
            name = f"{day}_minutes"
            if name not in params:
                continue
            value = _int_value(params[name])
            if value is None or not 0 <= value <= MAX_DAY_MINUTES:
                problems.append(
                    (name, f"{name} must be a whole number of minutes from 0 to {MAX_DAY_MINUTES}")
                )
            else:
                out[day] = value
        return out

    def _starts_on(self, user_id: str, day: date, *, other_than: str | None = None) -> str | None:
        iso = day.isoformat()
        for wm in self.dataset.workweek_memberships_of(user_id):
            if wm["start_date"] == iso and wm["id"] != other_than:
                return str(wm["id"])
        return None

    def create_membership(self, body: Mapping[str, Any]) -> str:
        """`POST workweek_memberships`: a new non-default workweek and the membership to it.

        `start_date` is required and must be a Sunday; missing day minutes are 0.
        """
        params = _wrapped(body, "workweek_membership")
        problems: list[tuple[str, str]] = []
        user_id = self._user_id(params, problems)
        day = None
        if params.get("start_date") in (None, ""):
            problems.append(("start_date", "Start date can't be blank"))
        else:
            day = self._sunday(params["start_date"], problems)
        minutes = self._minutes(params, problems)
        if user_id is not None and day is not None and self._starts_on(user_id, day):
            problems.append(("start_date", "Start date has already been taken for this user"))
        if problems or user_id is None or day is None:
            raise ApiError.validation(*problems)
        return str(self.dataset.add_workweek_membership(user_id, day, minutes=minutes)["id"])

    def standardize(self, body: Mapping[str, Any]) -> str:
        """`PUT workweek_memberships/standardize_to_default`: switch to the default workweek.

        `start_date` defaults to today and must be a Sunday. A membership of that user that
        already starts on that date is switched to the default workweek instead of adding one.
        """
        params = _wrapped(body, "workweek_membership")
        problems: list[tuple[str, str]] = []
        user_id = self._user_id(params, problems)
        raw = params.get("start_date")
        day = self._sunday(self.today().isoformat() if raw in (None, "") else raw, problems)
        if problems or user_id is None or day is None:
            raise ApiError.validation(*problems)
        default_id = self.dataset.default_workweek_id()
        existing = self._starts_on(user_id, day)
        if existing is None:
            return str(self.dataset.add_workweek_membership(user_id, day)["id"])
        self._move(existing, default_id)
        self.dataset.update("workweek_memberships", existing, workweek_id=default_id)
        return existing

    def update_membership(self, membership_id: str, body: Mapping[str, Any]) -> None:
        """`PUT workweek_memberships/{id}`: start_date and day minutes; user_id is fixed."""
        params = _wrapped(body, "workweek_membership")
        wm = self.dataset.records["workweek_memberships"][membership_id]
        user_id = str(wm["user_id"])
        problems: list[tuple[str, str]] = []
        if "user_id" in params and str(_int_value(params["user_id"])) != user_id:
            problems.append(("user_id", "User can't be changed"))
        day = None
        if "start_date" in params:
            day = self._sunday(params["start_date"], problems)
            if day is not None and self._starts_on(user_id, day, other_than=membership_id):
                problems.append(("start_date", "Start date has already been taken for this user"))
        minutes = self._minutes(params, problems)
        if problems:
            raise ApiError.validation(*problems)
        changes: dict[str, Any] = {}
        if day is not None:
            changes["start_date"] = day.isoformat()
        if minutes:
            changes["workweek_id"] = self._rework(wm, minutes, day)
        self.dataset.update("workweek_memberships", membership_id, **changes)
        if day is not None:
            self.dataset.relink_workweek_memberships(user_id)

    def _rework(self, wm: Mapping[str, Any], minutes: dict[str, int], day: date | None) -> str:
        """The workweek carrying the new minutes: edited in place when only `wm` uses it."""
        workweeks = self.dataset.records["workweeks"]
        current = workweeks.get(str(wm["workweek_id"]))
        merged = {d: int((current or {}).get(f"{d}_minutes") or 0) for d in DAYS} | minutes
        if (
            current is not None
            and not current["default"]
            and current["workweek_membership_ids"] == [wm["id"]]
        ):
            per_day = {f"{d}_minutes": m for d, m in merged.items()}
            self.dataset.update(
                "workweeks", current["id"], **per_day, total_minutes=sum(merged.values())
            )
            return str(current["id"])
        start = day or date.fromisoformat(wm["start_date"])
        new_id = str(self.dataset.add_workweek(start, merged)["id"])
        self._move(str(wm["id"]), new_id)
        return new_id

    def _move(self, membership_id: str, workweek_id: str | None) -> None:
        """Take a membership off its workweek's list and put it on `workweek_id`'s."""
        wm = self.dataset.records["workweek_memberships"][membership_id]
        workweeks = self.dataset.records["workweeks"]
        old = workweeks.get(str(wm["workweek_id"]))
        if old is not None and membership_id in old["workweek_membership_ids"]:
            old["workweek_membership_ids"].remove(membership_id)
        new = workweeks.get(str(workweek_id))
        if new is not None and membership_id not in new["workweek_membership_ids"]:
            new["workweek_membership_ids"].append(membership_id)

    def delete_membership(self, membership_id: str) -> None:
        """`DELETE workweek_memberships/{id}`."""
        self.dataset.delete("workweek_memberships", membership_id)
