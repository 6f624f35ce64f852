"""What the facts do not say, kept by hand: the generator's only input besides the facts.

Each entry says why it is here. Keep this short: a quirk that grows belongs in a
hand-written resource subclass (`kantata_async/resources/`), not in a table.
"""

from __future__ import annotations

# Filters whose wire format the facts type as a plain string but document otherwise.
FILTER_KINDS: dict[str, dict[str, str]] = {
    "users": {
        # The docs: up to 200 addresses, comma-separated.
        "by_email_addresses": "STRS",
        "external_reference_service_model_refs": "STRS",
        # `{'skill_id': [levels], 'operation': 'or|and'}`: a string as is, or a mapping as JSON.
        "with_skills": "JSONISH",
        "without_skills": "IDS",
        "not_on_calendars": "IDS",
        "account_role_ids": "IDS",
        "has_value_for_custom_field_ids": "IDS",
    },
}

# Fields the live API sends that the record schemas leave out (seen on live responses, and
# listed by the official gem's catalogue), or sends with another type than they say.
EXTRA_FIELDS: dict[str, dict[str, str]] = {
    "users": {"account_id": "str | None", "disabled": "bool | None"},
    # `value` is typed string, but holds what the custom field's `type` says: a number, a
    # date, a currency amount or a list of choice ids.
    "custom_field_values": {"custom_field_name": "str | None", "value": "Any"},
}

# Collections whose client attribute is a hand-written subclass of the generated resource
# (module, class): the quirks of capacity, the profile photo, the Sunday rule, the timeline.
RESOURCE_OVERRIDES: dict[str, tuple[str, str]] = {
    "users": ("kantata_async.resources.users", "Users"),
    "workweek_memberships": ("kantata_async.resources.workweek_memberships", "WorkweekMemberships"),
}

# Model class names for keys whose facts name none (no schema), or name as `Module::Class`.
MODEL_NAMES: dict[str, str] = {
    "exchange_tables": "ExchangeTable",
    "attachments": "Attachment",
    "tags": "Tag",
}

# Operations a hand-written resource method replaces: the generated method would send them
# wrong (the photo is multipart) or answer less (capacity's body is not an envelope).
HAND_WRITTEN: dict[str, frozenset[str]] = {
    "users": frozenset({"capacity", "profile_photo"}),
}

# Inverse relations, read from the other side's ids: (key, relation) -> (the relation on the
# target that points back here, whether this side is a hub holding its linkers weakly). A
# relation the facts do not declare (the record carries no ids for it) is added, with its
# target key. A user owns its memberships (strong); a skill or a workweek is a hub (weak):
# holding one must not keep every membership, and every user, alive.
INVERSES: dict[tuple[str, str], tuple[str, bool]] = {
    ("users", "account_membership"): ("user", False),
    ("users", "skill_memberships"): ("user", False),
    ("users", "custom_field_values"): ("subject", False),
    ("users", "external_references"): ("subject", False),
    ("users", "workweek_memberships"): ("user", False),
    ("skills", "external_references"): ("subject", False),
    ("skills", "skill_memberships"): ("skill", True),
    ("roles", "external_references"): ("subject", False),
    ("workweeks", "workweek_memberships"): ("workweek", True),
}

# Methods the hand-written resources add (listed in the README with the generated ones).
HAND_EXTRAS: dict[str, tuple[str, ...]] = {
    "users": ("capacity", "update_profile_photo", "reset_profile_photo"),
}
