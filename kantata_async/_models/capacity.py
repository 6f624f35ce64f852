"""`Capacity`: the body of `GET /users/{id}/capacity`, which is not the usual envelope."""

from __future__ import annotations

from datetime import date

import attrs

__all__ = ["Capacity"]


@attrs.frozen(kw_only=True)
class Capacity:
    """A user's work capacity: hours per day from `start_date` to `end_date`."""

    start_date: date
    end_date: date
    hours: dict[date, float]

    @property
    def total_hours(self) -> float:
        """The hours summed over the range."""
        return sum(self.hours.values())
