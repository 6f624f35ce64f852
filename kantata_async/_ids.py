"""`IdSet`: the ids a walk has yielded, in about 16 bytes each, however many there are.

A walk over offset pages must remember every id it has yielded to never yield one twice
(records shift between pages while it runs). A Python `set` of the id strings costs about
100 bytes an id, which is most of what a 100,000-record export grows by. Kantata ids are
digits, so they are kept as int64 in an open-addressing table (an `array`), with a plain set
for anything else.
"""

from __future__ import annotations

from array import array

__all__ = ["IdSet"]

_EMPTY = -1
_MAX = 2**63 - 1


class IdSet:
    """A set of ids that only grows: `add` says whether the id is new."""

    __slots__ = ("_count", "_mask", "_other", "_table")

    def __init__(self) -> None:
        self._table = array("q", [_EMPTY]) * 1024
        self._mask = 1023
        self._count = 0
        self._other: set[str] = set()

    def __len__(self) -> int:
        return self._count + len(self._other)

    def add(self, id: str) -> bool:
        """Add `id`; True when it was not there before."""
        # Only canonical digit strings become ints ("007" must stay apart from "7").
        if not (id.isascii() and id.isdigit()) or len(id) > 18 or (id[0] == "0" and id != "0"):
            if id in self._other:
                return False
            self._other.add(id)
            return True
        return self._add_int(int(id))

    def _add_int(self, value: int) -> bool:
        table, mask = self._table, self._mask
        # Fibonacci hashing spreads sequential ids over the table.
        slot = (value * 0x9E3779B97F4A7C15 >> 20) & mask
        while True:
            held = table[slot]
            if held == _EMPTY:
                break
            if held == value:
                return False
            slot = (slot + 1) & mask
        table[slot] = value
        self._count += 1
        if self._count * 2 > mask:  # keep the table at most half full
            self._grow()
        return True

    def _grow(self) -> None:
        old = self._table
        self._table = array("q", [_EMPTY]) * (len(old) * 2)
        self._mask = len(self._table) - 1
        self._count = 0
        for value in old:
            if value != _EMPTY:
                self._add_int(value)
