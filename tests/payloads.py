"""Envelope builders modelled on the response examples of the Users and Workweek Memberships docs.

`Graph.merge` adopts the record dicts of the payload it is given, so every builder returns a
fresh, independent payload on each call: never merge the same payload twice.
"""

from __future__ import annotations

from typing import Any

Payload = dict[str, Any]


def envelope(
    primary_key: str,
    records: dict[str, dict[str, Any]],
    *,
    results: list[str] | None = None,
    count: int | None = None,
    **sideloads: dict[str, dict[str, Any]],
) -> Payload:
    """A Kantata envelope with `records` as the primary records (results in dict order)."""
    ids = list(records) if results is None else results
    total = len(ids) if count is None else count
    payload: Payload = {
        "count": total,
        "meta": {
            "count": total,
            "page_count": 1 if total else 0,
            "page_number": 1 if total else 0,
            "page_size": 20,
        },
        "results": [{"key": primary_key, "id": id_} for id_ in ids],
        primary_key: records,
    }
    for key, value in sideloads.items():
        if key == primary_key:
            records.update(value)
        else:
            payload[key] = value
    return payload


def users_page() -> Payload:
    """`GET /users?include=account_membership,custom_field_values,external_references,manager,
    role,skill_memberships,skills,work_samples&optional_fields=bio,abbreviated_timezone,...`.

    Primary records: users 7 (Ann, fully linked) and 9 (Cy, every association empty).
    User 8 (Ann's manager) is sideloaded under the same `users` key and is not in `results`.
    """
    return {
        "count": 2,
        "meta": {"count": 2, "page_count": 1, "page_number": 1, "page_size": 20},
        "results": [{"key": "users", "id": "7"}, {"key": "users", "id": "9"}],
        "users": {
            "7": {
                "id": "7",
                "full_name": "Ann Archer",
                "email_address": "ann@example.com",
                "headline": "Senior Designer",
                "photo_path": "https://example.com/photos/7.png",
                "abbreviated_timezone": "PST",
                "bio": None,
                "city": "Oakland",
                "last_site_activity": "2024-03-01T09:30:00Z",
                "account_membership_id": "70",
                "role_id": "3",
                "manager_id": "8",
                "skill_ids": ["5", "6"],
                "skill_membership_ids": ["50", "60"],
                "custom_field_value_ids": ["300"],
                "external_reference_ids": ["400"],
                "work_sample_ids": ["500"],
                # seen on live responses, not declared by the model
                "generic": False,
                "update_whitelist": ["full_name", "headline"],
            },
            "8": {
                "id": "8",
                "full_name": "Bob Boss",
                "email_address": "bob@example.com",
                "headline": "Studio Lead",
                "photo_path": "https://example.com/photos/8.png",
            },
            "9": {
                "id": "9",
                "full_name": "Cy Cole",
                "email_address": "cy@example.com",
                "headline": None,
                "photo_path": "https://example.com/photos/9.png",
                "account_membership_id": None,
                "role_id": None,
                "manager_id": None,
                "skill_ids": [],
                "skill_membership_ids": [],
                "custom_field_value_ids": [],
                "external_reference_ids": [],
                "work_sample_ids": [],
            },
        },
        "account_memberships": {
            "70": {
                "id": "70",
                "user_id": "7",
                "permission": "administrator",
                "is_administrator": True,
                "is_owner": False,
                "bill_rate_in_cents": 15000,
                "cost_rate_in_cents": 9000,
                "billability_target": 80.0,
                "created_at": "2023-01-10T08:00:00-08:00",
                "updated_at": "2024-02-01T08:00:00-08:00",
                "disabled_at": None,
                "default_role_id": "3",
                "manager_id": "8",
                "skill_membership_ids": ["50", "60"],
                "managee_ids": [],
            },
        },
        "skill_memberships": {
            "50": {
                "id": "50",
                "level": 4,
                "max_level": 5,
                "cached_skill_name": "Illustration",
                "created_at": "2023-05-01T12:00:00Z",
                "updated_at": "2023-06-01T12:00:00Z",
                "skill_id": "5",
                "user_id": "7",
                "creator_id": "8",
            },
            "60": {
                "id": "60",
                "level": 2,
                "max_level": 5,
                "cached_skill_name": "Typography",
                "created_at": "2023-05-02T12:00:00Z",
                "updated_at": "2023-06-02T12:00:00Z",
                "skill_id": "6",
                "user_id": "7",
                "creator_id": "8",
            },
        },
        "skills": {
            "5": {
                "id": "5",
                "name": "Illustration",
                "description": "Drawing by hand",
                "max_level": "5",
                "skill_category_id": "2",
                "created_at": "2020-01-01T00:00:00Z",
                "updated_at": "2021-01-01T00:00:00Z",
            },
            "6": {
                "id": "6",
                "name": "Typography",
                "description": "Setting type",
                "max_level": "5",
                "skill_category_id": "2",
                "created_at": "2020-01-01T00:00:00Z",
                "updated_at": "2021-01-01T00:00:00Z",
            },
        },
        "roles": {
            "3": {
                "id": "3",
                "name": "Designer",
                "created_at": "2019-08-24T14:15:22Z",
                "updated_at": "2019-08-24T14:15:22Z",
                "deleted_at": None,
            },
        },
        "custom_field_values": {
            "300": {
                "id": "300",
                "account_id": 11,
                "can_edit": True,
                "created_at": "2023-03-03T10:00:00Z",
                "updated_at": "2023-03-04T10:00:00Z",
                "custom_field_id": "30",
                "custom_field_name": "T-shirt size",
                "display_value": "Medium",
                "subject_id": 7,
                "subject_type": "User",
                "subject_ref": {"key": "users", "id": "7"},
                "type": "single",
                "value": [31],
            },
        },
        "external_references": {
            "400": {
                "id": "400",
                "created_at": "2023-04-04T10:00:00Z",
                "updated_at": "2023-04-05T10:00:00Z",
                "external_link": "https://crm.example.com/contacts/ann",
                "external_message": None,
                "external_status": "active",
                "last_synced_at": "2024-01-01T00:00:00Z",
                "locked": False,
                "service_model": "Contact",
                "service_model_ref": "C-7",
                "service_name": "crm",
                "status": "successful",
                "subject_id": 7,
                "subject_ref": {"key": "users", "id": "7"},
                "subject_type": "User",
            },
        },
        "work_samples": {
            "500": {
                "id": "500",
                "title": "Poster series",
                "description": "Posters for the 2023 festival",
                "website_url": "https://example.com/posters",
                "trapped_website_url": "https://example.com/r?u=posters",
                "attachment_id": "5001",
                "attachment_filename": "posters.pdf",
            },
        },
    }


def workweek_memberships_page(*, include_users: bool = True) -> Payload:
    """`GET /workweek_memberships?include=user,workweek`: user_id arrives as an int (spec)."""
    payload: Payload = {
        "count": 2,
        "meta": {"count": 2, "page_count": 1, "page_number": 1, "page_size": 20},
        "results": [
            {"key": "workweek_memberships", "id": "21"},
            {"key": "workweek_memberships", "id": "22"},
        ],
        "workweek_memberships": {
            "21": {
                "id": "21",
                "created_at": "2024-01-02T10:00:00Z",
                "updated_at": "2024-01-05T10:00:00Z",
                "start_date": "2024-01-01",
                "end_date": "2024-06-30",
                "user_id": 7,
                "workweek_id": "31",
            },
            "22": {
                "id": "22",
                "created_at": "2024-06-20T10:00:00Z",
                "updated_at": "2024-06-21T10:00:00Z",
                "start_date": "2024-07-01",
                "end_date": None,
                "user_id": 7,
                "workweek_id": "32",
            },
        },
        "workweeks": {
            "31": {
                "id": "31",
                "created_at": "2023-12-01T00:00:00Z",
                "updated_at": "2023-12-01T00:00:00Z",
                "default": True,
                "start_date": "2024-01-01",
                "end_date": None,
                "sunday_minutes": 0,
                "monday_minutes": 480,
                "tuesday_minutes": 480,
                "wednesday_minutes": 480,
                "thursday_minutes": 480,
                "friday_minutes": 480,
                "saturday_minutes": 0,
                "total_minutes": 2400,
                "workweek_membership_ids": ["21"],
            },
            "32": {
                "id": "32",
                "created_at": "2024-06-01T00:00:00Z",
                "updated_at": "2024-06-01T00:00:00Z",
                "default": False,
                "start_date": "2024-07-01",
                "end_date": None,
                "sunday_minutes": 0,
                "monday_minutes": 240,
                "tuesday_minutes": 240,
                "wednesday_minutes": 240,
                "thursday_minutes": 240,
                "friday_minutes": 0,
                "saturday_minutes": 0,
                "total_minutes": 960,
            },
        },
    }
    if include_users:
        payload["users"] = {
            "7": {
                "id": "7",
                "full_name": "Ann Archer",
                "email_address": "ann@example.com",
                "headline": "Senior Designer",
                "photo_path": "https://example.com/photos/7.png",
            },
        }
    return payload
