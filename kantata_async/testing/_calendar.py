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
        # Created in the two years before the anchor (a midnight), updated after that, all
        # before it. Written from each day's text: a datetime per stamp costs twice as much,
        # and a dataset of 100,000 users has over two million of them.
        first = anchor - timedelta(days=730)
        self._days = [(first + timedelta(days=d)).date().isoformat() for d in range(730)]
        self._offset = anchor.isoformat()[19:]

    def _at(self, minute: int) -> str:
        """The stamp `minute` minutes after the first day's midnight."""
        day, rest = divmod(minute, 1440)
        return f"{self._days[day]}T{rest // 60:02d}:{rest % 60:02d}:00{self._offset}"

    def pair(self) -> tuple[str, str]:
        """`(created_at, updated_at)` with created <= updated < anchor."""
        random_ = self.rng.random
        created = int(random_() * 700 * 1440)
        updated = created + int(random_() * 29 * 1440)
        return self._at(created), self._at(updated)

    def recent(self, days: int) -> str:
        """A timestamp in the last `days` days before the anchor."""
        return (self.anchor - timedelta(minutes=self.rng.randrange(1, days * 24 * 60))).isoformat()
