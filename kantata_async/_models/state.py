"""What the graph keeps about a record beside the record's own data.

A model instance holds the server's fields in its `__dict__` (the very dict the JSON decoder
made) and nothing else there: any JSON key, `@stub` or `~note` included, is plain data. The
graph's bookkeeping lives in two slots that no JSON key can reach:

- `_links`: the relations resolved at merge time, by relation name (the target, or a tuple
  of them, or None), and the records linking here, by the inverse relation's key (a list,
  of weak references for a hub);
- `_state`: None for most records, else a `RecordState` with the rarer facts: that the
  object is a placeholder, which fields came from older payloads, parsed dates, the write
  that last set it, and which inverse relations are known to be complete.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import Model

__all__ = ["RecordState", "is_placeholder", "state_of"]


class RecordState:
    """The graph's rarer facts about one record; see the module docstring."""

    __slots__ = ("complete", "converted", "fence", "older", "placeholder", "written")

    def __init__(self, *, placeholder: bool = False) -> None:
        self.placeholder = placeholder
        """Known only by id: a link named it, its record has not arrived."""
        self.older: dict[str, datetime] | None = None
        """Field -> `updated_at` of the older payload its value came from."""
        self.converted: dict[str, tuple[Any, Any]] | None = None
        """Field -> (the text as sent, the date or time parsed from it)."""
        self.fence = 0
        """The graph ticket at which a write's answer last set this record: answers to
        requests sent before it are older than what the record holds."""
        self.written = 0
        """The ticket at which that write was sent (later writes win)."""
        self.complete: set[str] | None = None
        """Inverse relations known to hold every record that links here."""


def state_of(obj: Model) -> RecordState:
    """`obj`'s state, created on first need."""
    state = obj._state
    if state is None:
        state = obj._state = RecordState()
    return state


def is_placeholder(obj: Model) -> bool:
    """Whether `obj` is known only by id (a link named it; its record never arrived)."""
    state = obj._state
    return state is not None and state.placeholder
