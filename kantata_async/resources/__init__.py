"""The API's resources, as `client.users` and `client.workweek_memberships` expose them."""

from .users import Users
from .workweek_memberships import WorkweekMemberships

__all__ = ["Users", "WorkweekMemberships"]
