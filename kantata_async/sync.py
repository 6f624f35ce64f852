"""Incremental sync: fetch what changed since a watermark, and the watermark to use next.

    watermark = Watermark.load(state_file)             # or Watermark(datetime(..., tzinfo=UTC))
    feed = changes(client.workweek_memberships.list, since=watermark, include=["user"])
    async for membership in feed:
        upsert(membership)
    feed.watermark.save(state_file)                    # only after everything was handled

Each run asks for `updated_after = watermark - overlap`: records that became visible late
(replication lag, clock skew between Kantata's servers and yours) are fetched again rather than
missed. Records that carry `updated_at` are not delivered twice: the watermark remembers which
`(id, updated_at)` pairs it delivered inside the overlap window. Records that do not carry it
(the API sends no `updated_at` for users) are delivered at least once: a user changed near the
end of one run may come again in the next, so apply them idempotently (by id).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar

import attrs

from ._models.base import Model
from ._pagination import ListRequest

__all__ = ["ChangeTracker", "Changes", "Watermark", "as_watermark", "changes"]

M = TypeVar("M", bound=Model)

DEFAULT_OVERLAP = timedelta(minutes=5)

log = logging.getLogger("kantata_async")


def _aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime, got {value!r}")
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value


def _stamp(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _mark_time(value: datetime) -> datetime:
    return _aware(value, "Watermark.at")


def _pairs(value: Iterable[tuple[str, str]]) -> frozenset[tuple[str, str]]:
    return frozenset(value)


@attrs.frozen
class Watermark:
    """Where the last sync got to: a time, and what it delivered just before that time."""

    at: datetime = attrs.field(converter=_mark_time)
    recent: frozenset[tuple[str, str]] = attrs.field(default=frozenset(), converter=_pairs)
    """(id, updated_at) pairs delivered within the overlap window before `at`."""

    def dumps(self) -> str:
        """The watermark as JSON, for a state file."""
        return json.dumps(
            {"at": self.at.isoformat(), "recent": sorted([list(p) for p in self.recent])}
        )

    @classmethod
    def loads(cls, text: str) -> Watermark:
        """Read `dumps()` output. Raises `ValueError` naming what is wrong."""
        try:
            data = json.loads(text)
            at = datetime.fromisoformat(data["at"])
            pairs = data.get("recent", [])
            if not isinstance(pairs, list) or not all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(v, str) for v in p)
                for p in pairs
            ):
                raise ValueError("'recent' must be a list of [id, updated_at] pairs")
            return cls(at, frozenset((i, u) for i, u in pairs))
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"not a kantata_async watermark: {err}") from err

    def save(self, path: str | Path) -> None:
        """Write the watermark to `path` (replacing it whole, never half-written)."""
        target = Path(path)
        # A name of its own, so that two saves at once cannot write into one temporary file.
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        tmp = Path(name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(self.dumps() + "\n")
            tmp.replace(target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | Path) -> Watermark:
        """Read a watermark saved with `save`."""
        return cls.loads(Path(path).read_text(encoding="utf-8"))


class ChangeTracker:
    """One sync run's bookkeeping: which records to deliver, and the next watermark.

    Ask for `updated_after`, pass every record the walk yields to `accept` (False: it was
    delivered before, skip it), and call `finish` once the walk has ended.
    """

    def __init__(
        self,
        since: Watermark,
        overlap: timedelta = DEFAULT_OVERLAP,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not isinstance(overlap, timedelta) or overlap < timedelta(0):
            raise ValueError(f"overlap must be a timedelta >= 0, got {overlap!r}")
        try:
            since.at - overlap
        except OverflowError:
            raise ValueError(
                f"since {since.at.isoformat()} is too early to ask for changes {overlap} before it"
            ) from None
        self.since = since
        self.overlap = overlap
        self.delivered = 0
        self.skipped = 0
        self.outlier: str | None = None
        """After `finish`: a sentence on a time past this run's start that the next watermark
        did not take (a record stamped in the future, or a watermark already past it)."""
        self.held: str | None = None
        """After `finish`: a sentence saying the watermark did not move because the walk
        returned fewer records than the server reported (a record may have been missed)."""
        self._clock = clock
        self._started = _aware(clock(), "clock()")
        self._newest: datetime | None = None
        self._newest_record = ""
        self._unstamped = False
        self._stamped: dict[tuple[str, str], datetime] = {}

    @property
    def updated_after(self) -> datetime:
        """The `updated_after` filter for this run: the watermark less the overlap."""
        return self.since.at - self.overlap

    def accept(self, record: Model) -> bool:
        """Whether to deliver `record`; False when this version was delivered before."""
        raw = record.__dict__
        stamp = _stamp(raw.get("updated_at"))
        if stamp is None:
            self._unstamped = True
        else:
            if self._newest is None or stamp > self._newest:
                self._newest = stamp
                self._newest_record = f"{type(record).__kantata_key__} {raw['id']}"
            pair = (raw["id"], stamp.isoformat())
            if pair in self.since.recent:
                self.skipped += 1
                return False
            self._stamped[pair] = stamp
        self.delivered += 1
        return True

    def finish(self, reported: int | None = None) -> Watermark:
        """The watermark for the next run; `reported` is the count the server announced.

        Records with `updated_at` move it to the newest one seen (the server's clock);
        records without it leave only this machine's clock at the start of the run; an empty
        answer leaves it where it was. Never past the run's start, though: one record stamped
        in the future (2099) would otherwise become the watermark, and every later run would
        ask for changes after 2099, that is for nothing. Records changed while the run went
        are past its start too; the next run asks for them again and skips them. A stamp
        past even the end of the run (and the overlap, for clock skew) is logged at WARNING.

        When the walk returned fewer records than `reported` (one deleted mid-walk shifts the
        next pages, so another record is never seen), the watermark stays where it was: the
        next run asks for the same changes again, skips what this run delivered, and finds
        the record this one missed. Logged at WARNING (`held`).
        """
        at = self.since.at
        seen = self.delivered + self.skipped
        if reported is not None and seen < reported:
            self.held = (
                f"the server reported {reported} changed records and {seen} arrived; the "
                f"watermark stays at {at.isoformat()} so that the next run asks again"
            )
            log.warning("incremental sync: %s", self.held)
        elif self._newest is not None:
            at = max(at, self._newest)
        elif self._unstamped:
            at = max(at, self._started)
        if at > self._started:
            self._cap_note(at)
            at = self._started
        window_start = at - self.overlap
        recent = {p for p, s in self._stamped.items() if s >= window_start}
        recent |= {p for p in self.since.recent if (_stamp(p[1]) or at) >= window_start}
        return Watermark(at, frozenset(recent))

    def _cap_note(self, at: datetime) -> None:
        if at <= _aware(self._clock(), "clock()") + self.overlap:
            return  # changed while the run went (give or take the clock skew allowed)
        what = (
            f"the watermark {at.isoformat()} is"
            if at == self.since.at
            else f"{self._newest_record} has updated_at {at.isoformat()}, which is"
        )
        self.outlier = (
            f"{what} later than this run's start ({self._started.isoformat()}); the next "
            "watermark is that start instead, so that later changes are not skipped"
        )
        log.warning("incremental sync: %s", self.outlier)


class Changes(Generic[M]):
    """The records changed since a watermark; iterate once, then read `watermark`."""

    def __init__(
        self,
        listing: Callable[..., ListRequest[M]],
        tracker: ChangeTracker,
        kwargs: dict[str, Any],
    ) -> None:
        self.tracker = tracker
        self._listing = listing
        self._kwargs = kwargs
        self._watermark: Watermark | None = None
        self._started = False

    @property
    def delivered(self) -> int:
        """Records delivered so far."""
        return self.tracker.delivered

    @property
    def skipped(self) -> int:
        """Records skipped because the previous run delivered this version already."""
        return self.tracker.skipped

    @property
    def watermark(self) -> Watermark:
        """The watermark for the next run. Only after the iteration finished."""
        if self._watermark is None:
            raise RuntimeError("the sync has not finished: iterate it to the end first")
        return self._watermark

    def __aiter__(self) -> AsyncIterator[M]:
        if self._started:
            raise RuntimeError("a Changes feed can be iterated once")
        self._started = True
        return self._run()

    async def _run(self) -> AsyncIterator[M]:
        listing = self._listing(updated_after=self.tracker.updated_after, **self._kwargs)
        async for record in listing:
            if self.tracker.accept(record):
                yield record
        self._watermark = self.tracker.finish(listing.stats.reported_count)


def as_watermark(since: Watermark | datetime) -> Watermark:
    """A watermark from a watermark or an aware datetime."""
    return since if isinstance(since, Watermark) else Watermark(_aware(since, "since"))


def changes(
    listing: Callable[..., ListRequest[M]],
    since: Watermark | datetime,
    *,
    overlap: timedelta = DEFAULT_OVERLAP,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    **kwargs: Any,
) -> Changes[M]:
    """What changed since `since`, from a list method such as `client.users.list`.

    `kwargs` go to the list method (filters, `include`); `updated_after` is set from the
    watermark. Raises `ValueError` for a naive datetime or a negative overlap.
    """
    if "updated_after" in kwargs:
        raise ValueError("updated_after comes from the watermark; do not pass it")
    return Changes(listing, ChangeTracker(as_watermark(since), overlap, clock), kwargs)
