"""Which generic handler serves a documented route, from its kind and its shape alone.

A collection's plain routes need no code of their own: the list and the show, create,
update and delete (one record, or many with `?ids=`), and the actions whose meaning
follows from their name and the record (`approve`, `reject` and `cancel` set a `status`).
Any other route has no handler unless a declaration names one, and answers 501.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ._facts import FieldFact, Operation

__all__ = ["STATUS_ACTIONS", "plain"]

# An action named like this sets the record's `status` to the value.
STATUS_ACTIONS = {"approve": "approved", "reject": "rejected", "cancel": "canceled"}
# One path parameter: the record's id (`{id}`, or `{role_id}` for the rows of a rate card).
_ONE = re.compile(r"\{[a-z_]+\}")


def plain(op: Operation, shape: str, schema: Mapping[str, FieldFact]) -> str | None:
    """The generic handler for `op`, whose path is `shape` after its collection's route."""
    one = bool(_ONE.fullmatch(shape))
    if op.kind == "list" and shape == "":
        return "list"
    if op.kind == "show" and one:
        return "show"
    if op.kind == "create" and shape == "" and op.method == "POST":
        return "create"
    if op.kind == "update" and one:
        return "update"
    if op.kind == "delete" and one:
        return "delete"
    if op.kind == "delete" and shape == "":
        return "delete_many"
    head, _, action = shape.partition("/")
    if op.kind == "action" and _ONE.fullmatch(head) and action in STATUS_ACTIONS:
        return "status" if "status" in schema else None
    return None
