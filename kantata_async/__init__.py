"""kantata_async: an asyncio SDK for the Kantata OX (Mavenlink) REST API.

The heart is `Graph`, which merges every response into one live object per `(key, id)`.
"""

from ._client import KantataClient
from ._convert import converter, from_dict, to_dict, validate
from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    DanglingReferenceError,
    ErrorDetail,
    FieldNotLoadedError,
    KantataError,
    NotFoundError,
    NotLoadedError,
    PaginationError,
    PayloadError,
    PermissionDeniedError,
    RateLimitError,
    RelationNotLoadedError,
    ResponseValidationError,
    ServerError,
    ServiceUnavailableError,
    UnprocessableEntityError,
)
from ._graph import Graph, Ticket
from ._pagination import ListRequest, Page, WalkStats
from ._retry import Failure, RetryPolicy
from .export import ExportError, ExportProgress, ExportSummary
from .models import (
    AccountMembership,
    Capacity,
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
from .oauth import OAuthError, OAuthToken
from .sync import Watermark

__version__ = "0.1.0.dev0"

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AccountMembership",
    "AuthenticationError",
    "BadRequestError",
    "Capacity",
    "CustomFieldValue",
    "DanglingReferenceError",
    "ErrorDetail",
    "ExportError",
    "ExportProgress",
    "ExportSummary",
    "ExternalReference",
    "Failure",
    "FieldNotLoadedError",
    "Graph",
    "KantataClient",
    "KantataError",
    "ListRequest",
    "Model",
    "NotFoundError",
    "NotLoadedError",
    "OAuthError",
    "OAuthToken",
    "Page",
    "PaginationError",
    "PayloadError",
    "PermissionDeniedError",
    "RateLimitError",
    "Record",
    "RelationNotLoadedError",
    "ResponseValidationError",
    "RetryPolicy",
    "Role",
    "ServerError",
    "ServiceUnavailableError",
    "Skill",
    "SkillMembership",
    "Ticket",
    "UnprocessableEntityError",
    "User",
    "WalkStats",
    "Watermark",
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
