"""Dates and timestamps for generated data: all before the dataset's anchor, deterministic."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

__all__ = ["DAYS", "Stamps", "sunday_on_or_before"]

DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")


def sunday_on_or_before(day: date) -> date:
    """The Sunday on or before `day`."""
    return day - timedelta(days=(day.weekday() + 1) % 7)


class Stamps:
    """Timestamps before `anchor`, drawn from the generator: ISO 8601 with the anchor's offset."""

    def __init__(self, rng: random.Random, anchor: datetime) -> None:
        self.rng = rng
        self.anchor = anchor
        # Created in the two years before the anchor, updated after that, all before it.
        self._first = anchor - timedelta(days=730)

    def pair(self) -> tuple[str, str]:
        """`(created_at, updated_at)` with created <= updated < anchor."""
        created_min = self.rng.randrange(0, 700 * 24 * 60)
        updated_min = created_min + self.rng.randrange(0, 29 * 24 * 60)
        created = self._first + timedelta(minutes=created_min)
        updated = self._first + timedelta(minutes=updated_min)
        return created.isoformat(), updated.isoformat()

    def recent(self, days: int) -> str:
        """A timestamp in the last `days` days before the anchor."""
        return (self.anchor - timedelta(minutes=self.rng.randrange(1, days * 24 * 60))).isoformat()
