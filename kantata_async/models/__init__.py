"""Model classes for Kantata records, and helpers to inspect what is loaded."""

from ._base import ABSENT, Many, Model, One, Record, is_loaded, loaded_fields
from ._capacity import Capacity
from ._resources import (
    AccountMembership,
    CustomFieldValue,
    ExternalReference,
    Role,
    Skill,
    SkillMembership,
    User,
    WorkSample,
    Workweek,
    WorkweekMembership,
)

__all__ = [
    "ABSENT",
    "AccountMembership",
    "Capacity",
    "CustomFieldValue",
    "ExternalReference",
    "Many",
    "Model",
    "One",
    "Record",
    "Role",
    "Skill",
    "SkillMembership",
    "User",
    "WorkSample",
    "Workweek",
    "WorkweekMembership",
    "is_loaded",
    "loaded_fields",
]
