"""kantata_async: an asyncio SDK for the Kantata OX (Mavenlink) REST API.

The heart is `Graph`, which merges every response into one live object per `(key, id)`.
"""

from ._convert import converter, from_dict, to_dict, validate
from ._errors import (
    DanglingReferenceError,
    FieldNotLoadedError,
    KantataError,
    NotLoadedError,
    PayloadError,
    RelationNotLoadedError,
)
from ._graph import Graph
from .models import (
    AccountMembership,
    CustomFieldValue,
    ExternalReference,
    Model,
    Record,
    Role,
    Skill,
    SkillMembership,
    User,
    WorkSample,
    Workweek,
    WorkweekMembership,
    is_loaded,
    loaded_fields,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "AccountMembership",
    "CustomFieldValue",
    "DanglingReferenceError",
    "ExternalReference",
    "FieldNotLoadedError",
    "Graph",
    "KantataError",
    "Model",
    "NotLoadedError",
    "PayloadError",
    "Record",
    "RelationNotLoadedError",
    "Role",
    "Skill",
    "SkillMembership",
    "User",
    "WorkSample",
    "Workweek",
    "WorkweekMembership",
    "__version__",
    "converter",
    "from_dict",
    "is_loaded",
    "loaded_fields",
    "to_dict",
    "validate",
]
