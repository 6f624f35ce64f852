"""What filters read besides the record itself: lookups over the dataset, kept per revision.

`Index` memoizes derived tables (participations by workspace, the requester's visible users,
...) until the dataset's `revision` changes. `Context` is what one request's filters see: the
dataset, the requester (`me`), the request's parameters and the index.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ._dataset import Dataset

__all__ = ["Context", "Index"]

T = TypeVar("T")


class Index:
    """Derived tables over a dataset, each built once per dataset revision."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self._revision = -1
        self._memo: dict[str, Any] = {}

    def sync(self) -> bool:
        """Drop every table when the dataset changed; True when it did."""
        if self.dataset.revision == self._revision:
            return False
        self._revision = self.dataset.revision
        self._memo.clear()
        return True

    def memo(self, name: str, build: Callable[[], T]) -> T:
        """The table `name`, built by `build` the first time it is asked for this revision."""
        self.sync()
        if name not in self._memo:
            self._memo[name] = build()
        value: T = self._memo[name]
        return value

    def by(self, key: str, field: str) -> dict[str, list[dict[str, Any]]]:
        """The records under `key` grouped by the string form of their `field`."""

        def build() -> dict[str, list[dict[str, Any]]]:
            out: dict[str, list[dict[str, Any]]] = {}
            for record in self.dataset.records.get(key, {}).values():
                value = record.get(field)
                if value is not None:
                    out.setdefault(str(value), []).append(record)
            return out

        return self.memo(f"by:{key}:{field}", build)


@dataclass(frozen=True)
class Context:
    """One request as its filters, scopes and field rules see it."""

    dataset: Dataset
    me: str
    params: Mapping[str, Any]
    index: Index

    def record(self, key: str, record_id: object) -> dict[str, Any] | None:
        """The stored record `record_id` under `key`, or None."""
        return self.dataset.records.get(key, {}).get(str(record_id))

    def my_account(self) -> str | None:
        """The account id of the requester."""
        me = self.record("users", self.me)
        return None if me is None else me.get("account_id")

    def i_am_administrator(self) -> bool:
        """Whether the requester is an administrator of their account."""
        me = self.record("users", self.me)
        membership = (
            None
            if me is None
            else self.record("account_memberships", me.get("account_membership_id"))
        )
        return bool(membership and membership.get("is_administrator"))
