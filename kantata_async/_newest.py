"""The per-field newest rule: merging a record's new version into the dict it has.

Per field, the value from the newest payload (by `updated_at`) that carried it wins, so the
same payloads in any order give the same record. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ._models.base import Model
from ._models.state import state_of

__all__ = ["merge_newest"]


def _stamp(value: Any) -> datetime | None:
    """`updated_at` as a comparable aware datetime, or None when it is missing or unreadable."""
    if type(value) is str:
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return None


def merge_newest(obj: Model, d: dict[str, Any], raw: dict[str, Any]) -> Mapping[str, Any]:
    """Merge `raw` into an existing record's dict; return the keys it applied.

    Per field, the value from the newest payload (by `updated_at`) that carried it wins,
    so the same payloads in any order give the same record. The record's state remembers
    the stamp of fields whose value came from a payload older than the record's newest.
    """
    new_text = raw.get("updated_at")
    cur_text = d.get("updated_at")
    state = obj._state
    older = state.older if state is not None else None
    if new_text == cur_text and not older:
        # The common case (the same version again, or records without `updated_at`).
        d.update(raw)
        return raw
    new_s = _stamp(new_text)
    cur_s = _stamp(cur_text)
    if new_s is not None and cur_s is not None and new_s < cur_s:
        if older is None:
            older = state_of(obj).older = {}
        applied = {}
        for k, v in raw.items():
            if k not in d or (k in older and older[k] < new_s):
                d[k] = applied[k] = v
                older[k] = new_s
        return applied
    if new_s is not None and cur_s is not None and new_s > cur_s:
        # Fields the newer payload leaves out keep the stamp they had.
        kept = [k for k in d if k not in raw]
        if kept:
            if older is None:
                older = state_of(obj).older = {}
            for k in kept:
                older.setdefault(k, cur_s)
    d.update(raw)
    if older:
        for k in raw:
            older.pop(k, None)
    return raw
